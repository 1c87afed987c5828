"""The confirmation step of a 情報照会 on the staff pages, and why it cannot be skipped.

The form is answered with a confirmation page that shows who will be queried (agencies.lookups);
only that page's signed token sends. The token says what was confirmed (request id, route,
case, person) and for whom: the staff member and their login session (the terminal the ledger
records), for ten minutes. A hand-made POST without it shows the confirmation page and sends
nothing; a token altered, expired, or from another staff member or session sends nothing. It
carries ids only, never a number typed: the page that holds it is HTML anyone at the desk can
read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core import signing

from agencies.models import StaffMember

SALT = "yaritori.staff.query-confirmation"
MAX_AGE = 10 * 60  # seconds: long enough to check an application form, short enough to go stale


@dataclass(frozen=True)
class QueryConfirmation:
    """What the clerk confirmed: this request id, along this route, under this case (or
    none), about this person."""

    request_id: uuid.UUID
    route: str
    case_id: int | None
    person_id: int


def confirmation_sign(confirmation: QueryConfirmation, *, staff: StaffMember, terminal: str) -> str:
    """The token of the confirmation page, bound to the staff member and their session."""
    return signing.dumps(
        {
            "staff": staff.pk,
            "terminal": terminal,
            "request_id": str(confirmation.request_id),
            "route": confirmation.route,
            "case": confirmation.case_id,
            "person": confirmation.person_id,
        },
        salt=SALT,
        compress=True,
    )


def confirmation_read(token: str, *, staff: StaffMember, terminal: str) -> QueryConfirmation | None:
    """The confirmation a token carries, or None when it is not one this staff member's
    session signed in the last MAX_AGE seconds."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
        if data["staff"] != staff.pk or data["terminal"] != terminal:
            return None
        case = data["case"]
        return QueryConfirmation(
            request_id=uuid.UUID(data["request_id"]),
            route=str(data["route"]),
            case_id=int(case) if case is not None else None,
            person_id=int(data["person"]),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
