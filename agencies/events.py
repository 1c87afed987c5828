"""What the agencies write to the ledger outside the network's own requests: cases opened and
closed with their members, a clerk's look-up of a person's record, and operator credentials
issued and revoked.

The network's request events are in agencies/network/events.py. Both declare their event
types to the ledger (audit.entries.register_event), which enforces them; docs/log-format.md
lists every type with its fields. Codes and pseudonyms only.
"""

from __future__ import annotations

import datetime as dt

from agencies.models import Affair, Case, Person, StaffMember
from agencies.network.events import AFFAIR, CASE, INSTITUTION, STAFF
from audit.entries import register_event, subject_pseudonym, text
from audit.ledger import ledger_append

DEPARTMENT = text(r"[A-Za-z0-9]{1,10}", refuse_twelve_digits=True)
# Why the case concerns a member: "applicant", "household" (a member of the applicant's 世帯),
# or a relation outside the household (see agencies.models.OUTSIDE_HOUSEHOLD_RELATIONS).
RELATION = text(r"[a-z_]{2,24}")
PURPOSE = text(r"[a-z_]{2,32}")
CREDENTIAL = text(r"[A-Za-z0-9_-]{8}")

CASE_OPENED = "case.opened"
CASE_MEMBER = "case.member"
CASE_CLOSED = "case.closed"
PERSON_LOOKUP = "person.lookup"
CREDENTIAL_ISSUED = "credential.issued"
CREDENTIAL_REVOKED = "credential.revoked"

_CASE_FIELDS = {
    "case": CASE,
    "affair": AFFAIR,
    "institution": INSTITUTION,
    "department": DEPARTMENT,
    "staff": STAFF,
}
_CASE_REQUIRED = tuple(_CASE_FIELDS)

register_event(
    CASE_OPENED,
    fields=_CASE_FIELDS,
    required=_CASE_REQUIRED,
    key="case",
    summary="案件の受付: a case opened under an affair; its subject is the applicant",
)
register_event(
    CASE_MEMBER,
    fields={**_CASE_FIELDS, "relation": RELATION},
    required=(*_CASE_REQUIRED, "relation"),
    key="case",
    summary="a person the case concerns (one entry per member, the applicant included), "
    "with the relation that makes the case theirs",
)
register_event(
    CASE_CLOSED,
    fields=_CASE_FIELDS,
    required=_CASE_REQUIRED,
    key="case",
    summary="案件の完結: a case closed; queries under it are refused from then on",
)
register_event(
    PERSON_LOOKUP,
    fields={
        "institution": INSTITUTION,
        "staff": STAFF,
        "affair": AFFAIR,
        "purpose": PURPOSE,
        "relation": RELATION,
    },
    required=("institution", "staff", "affair", "purpose", "relation"),
    summary="a clerk looked at a person's record (name, date of birth, household) within the "
    "organisation, without the network: e.g. the household shown when opening a case",
)
for _event, _summary in (
    (CREDENTIAL_ISSUED, "an operator credential issued to a staff member"),
    (CREDENTIAL_REVOKED, "an operator credential revoked"),
):
    register_event(
        _event,
        fields={"institution": INSTITUTION, "staff": STAFF, "credential": CREDENTIAL},
        required=("institution", "staff", "credential"),
        summary=_summary,
    )


def _subject(person: Person) -> str:
    return subject_pseudonym(str(person.public_id))


def _case_fields(case: Case, staff: StaffMember) -> dict[str, object]:
    return {
        "case": case.reference,
        "affair": case.affair.code,
        "institution": case.department.institution.code,
        "department": case.department.code,
        "staff": staff.audit_pseudonym,
    }


def record_case_opened(
    *, case: Case, staff: StaffMember, members: list[tuple[Person, str]], moment: dt.datetime
) -> None:
    """The case's opening and one entry per member (relation codes), in the caller's
    transaction: each member sees on their own page that a case concerns them."""
    fields = _case_fields(case, staff)
    ledger_append(
        event_type=CASE_OPENED, fields=fields, subject=_subject(case.applicant), moment=moment
    )
    for person, relation in members:
        ledger_append(
            event_type=CASE_MEMBER,
            fields={**fields, "relation": relation},
            subject=_subject(person),
            moment=moment,
        )


def record_case_closed(*, case: Case, staff: StaffMember, moment: dt.datetime) -> None:
    """The case's closing, in the caller's transaction."""
    ledger_append(
        event_type=CASE_CLOSED,
        fields=_case_fields(case, staff),
        subject=_subject(case.applicant),
        moment=moment,
    )


def record_person_lookup(
    *,
    staff: StaffMember,
    affair: Affair,
    person: Person,
    purpose: str,
    relation: str,
    moment: dt.datetime,
) -> None:
    """A clerk's look-up of person's record for affair, in the caller's transaction."""
    ledger_append(
        event_type=PERSON_LOOKUP,
        fields={
            "institution": staff.institution.code,
            "staff": staff.audit_pseudonym,
            "affair": affair.code,
            "purpose": purpose,
            "relation": relation,
        },
        subject=_subject(person),
        moment=moment,
    )


def record_credential(*, event_type: str, staff: StaffMember, prefix: str) -> None:
    """An operator credential issued or revoked (by its prefix, never the secret)."""
    ledger_append(
        event_type=event_type,
        fields={
            "institution": staff.institution.code,
            "staff": staff.audit_pseudonym,
            "credential": prefix,
        },
    )
