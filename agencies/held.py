"""What the provider's staff see of the requests held for their manual answer (保留中の照会).

Whether a request's subject is 不開示 is the one fact a DV support measure exists to hide.
Within the provider, only those who decide held requests (提供担当 and 所属長) are told; a desk
clerk who merely works there sees the queue without it. The network's rule for institutions
is agencies.network.outcomes.nondisclosure_visible_to; this adds the staff member's role.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from agencies.models import LinkageRequest, Person, StaffMember
from agencies.network.outcomes import nondisclosure_visible_to
from agencies.network.services import DECIDING_ROLES
from agencies.selectors import addressee_numbers_of, held_requests_for


def nondisclosure_shown_to(*, staff: StaffMember, request: LinkageRequest) -> bool:
    """True when the page may tell staff that request's subject is 不開示: the request is 不開示
    and staff is an operator or supervisor of the provider that decides it."""
    return (
        request.nondisclosure
        and staff.role in DECIDING_ROLES
        and nondisclosure_visible_to(request, staff.institution_id)
    )


@dataclass(frozen=True)
class HeldRow:
    """One held request as the provider's queue shows it."""

    request: LinkageRequest
    subject: Person | None
    addressee_number: str  # the provider's organisation's 宛名番号 of the subject, or ""
    nondisclosure: bool  # only ever True for those who decide (nondisclosure_shown_to)

    @property
    def requested_at(self) -> dt.datetime:
        return self.request.requested_at


def held_queue(*, staff: StaffMember, limit: int = 500) -> list[HeldRow]:
    """The requests held for the staff member's institution, oldest first, with their subject
    as the provider's own records know them (three queries in all)."""
    held = list(held_requests_for(staff=staff).select_related("subject")[:limit])
    numbers = addressee_numbers_of(
        organization_id=staff.institution.organization_id,
        person_ids=[r.subject_id for r in held if r.subject_id is not None],
    )
    return [
        HeldRow(
            request=r,
            subject=r.subject,
            addressee_number=numbers.get(r.subject_id, "") if r.subject_id is not None else "",
            nondisclosure=nondisclosure_shown_to(staff=staff, request=r),
        )
        for r in held
    ]


def held_row(*, staff: StaffMember, request: LinkageRequest) -> HeldRow:
    """One request asked of the staff member's institution, as the queue shows it."""
    subject = request.subject
    numbers = addressee_numbers_of(
        organization_id=staff.institution.organization_id,
        person_ids=[subject.pk] if subject is not None else [],
    )
    return HeldRow(
        request=request,
        subject=subject,
        addressee_number=numbers.get(subject.pk, "") if subject is not None else "",
        nondisclosure=nondisclosure_shown_to(staff=staff, request=request),
    )
