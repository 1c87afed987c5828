"""What the agencies write to the ledger outside the network's own requests: cases opened and
closed with their members, a clerk's look-up of a person's record, consents, staff
assignments, the permitted table's and the ordinances' rows, 不開示 periods, batch queries,
agency systems and operator credentials: every change an auditor or a detection rule needs.

The network's request events are in agencies/network/events.py. Both declare their event
types to the ledger (audit.entries.register_event), which enforces them; docs/log-format.md
lists every type with its fields. Codes and pseudonyms only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.conf import settings

from agencies.models import Affair, Case, Person, StaffMember
from agencies.network.events import AFFAIR, CASE, INSTITUTION, ITEM, STAFF
from audit.entries import BOOLEAN, UUID, register_event, subject_pseudonym, text
from audit.ledger import ledger_append
from core.keys import decode_key

DEPARTMENT = text(r"[A-Za-z0-9]{1,10}", refuse_twelve_digits=True)
# Why the case concerns a member: "applicant", "household" (a member of the applicant's 世帯),
# or a relation outside the household (see agencies.models.OUTSIDE_HOUSEHOLD_RELATIONS).
RELATION = text(r"[a-z_]{2,24}")
PURPOSE = text(r"[a-z_]{2,32}")
CREDENTIAL = text(r"[A-Za-z0-9_-]{8}")
DAY = text(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ORGANIZATION = text(r"[0-9]{6}")
# Who made a change outside the staff pages (the admin, a command): a staff pseudonym, a user
# pseudonym (AU + 16 hex) for administrators who are not staff, or "system" for the loader.
ACTOR = text(r"ST[0-9A-F]{16}|AU[0-9A-F]{16}|system")
CAPACITY = text(r"[a-z_]{2,40}")
# A row of the table in ASCII: "16の2" is written "16-2"; several rows joined by commas.
ROW = text(r"[0-9A-Za-z_,-]{1,24}")
SYSTEM_KEY = text(r"[A-Za-z0-9_-]{8}")
COUNT = text(r"[0-9]{1,6}")

CASE_OPENED = "case.opened"
CASE_MEMBER = "case.member"
CASE_CLOSED = "case.closed"
PERSON_LOOKUP = "person.lookup"
CONSENT_GIVEN = "consent.given"
CONSENT_WITHDRAWN = "consent.withdrawn"
ASSIGNMENT_GRANTED = "assignment.granted"
ASSIGNMENT_ENDED = "assignment.ended"
RULE_ADDED = "rule.added"
RULE_ENDED = "rule.ended"
ORDINANCE_ADDED = "ordinance.added"
ORDINANCE_ENDED = "ordinance.ended"
NONDISCLOSURE_SET = "nondisclosure.set"
NONDISCLOSURE_LIFTED = "nondisclosure.lifted"
BATCH_OPENED = "batch.opened"
SYSTEM_CREATED = "system.created"
SYSTEM_DEACTIVATED = "system.deactivated"
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

register_event(
    CONSENT_GIVEN,
    fields={
        "institution": INSTITUTION,
        "affair": AFFAIR,
        "item": ITEM,
        "valid_from": DAY,
        "valid_to": DAY,
        "actor": ACTOR,
    },
    required=("institution", "affair", "item", "valid_from", "actor"),
    summary="本人同意: the person (subject) consented that institution query item for affair",
)
register_event(
    CONSENT_WITHDRAWN,
    fields={"institution": INSTITUTION, "affair": AFFAIR, "item": ITEM, "actor": ACTOR},
    required=("institution", "affair", "item", "actor"),
    summary="a consent withdrawn (or ended early): queries that need it are refused from then",
)
for _event, _summary in (
    (ASSIGNMENT_GRANTED, "a staff member assigned to an affair (担当事務)"),
    (ASSIGNMENT_ENDED, "a staff member's assignment to an affair ended"),
):
    register_event(
        _event,
        fields={"institution": INSTITUTION, "staff": STAFF, "affair": AFFAIR, "actor": ACTOR},
        required=("institution", "staff", "affair", "actor"),
        summary=_summary,
    )
for _event, _summary in (
    (RULE_ADDED, "a row of the permitted table (別表第二 / 主務省令) added"),
    (RULE_ENDED, "a row of the permitted table ended (rows are ended, never deleted)"),
):
    register_event(
        _event,
        fields={
            "table_row": ROW,
            "affair": AFFAIR,
            "item": ITEM,
            "requester_capacity": CAPACITY,
            "provider_capacity": CAPACITY,
            "requester": INSTITUTION,
            "provider": INSTITUTION,
            "valid_from": DAY,
            "valid_to": DAY,
            "actor": ACTOR,
        },
        required=("affair", "item", "valid_from", "actor"),
        summary=_summary,
    )
for _event, _summary in (
    (ORDINANCE_ADDED, "a row of an organisation's ordinance table (条例で定める庁内利用) added"),
    (ORDINANCE_ENDED, "a row of an ordinance table ended (never deleted)"),
):
    register_event(
        _event,
        fields={
            "organization": ORGANIZATION,
            "affair": AFFAIR,
            "item": ITEM,
            "from_affair": AFFAIR,
            "valid_from": DAY,
            "valid_to": DAY,
            "actor": ACTOR,
        },
        required=("organization", "affair", "item", "valid_from", "actor"),
        summary=_summary,
    )
for _event, _summary in (
    (NONDISCLOSURE_SET, "不開示 (a DV support measure) set for the subject"),
    (NONDISCLOSURE_LIFTED, "不開示 lifted for the subject"),
):
    # Always marked nondisclosure: the entry itself is hidden wherever 不開示 records are.
    register_event(
        _event,
        fields={
            "organization": ORGANIZATION,
            "valid_from": DAY,
            "valid_to": DAY,
            "nondisclosure": BOOLEAN,
            "actor": ACTOR,
        },
        required=("nondisclosure", "actor"),
        summary=_summary,
    )
register_event(
    BATCH_OPENED,
    fields={
        "batch": UUID,
        "affair": AFFAIR,
        "institution": INSTITUTION,
        "department": DEPARTMENT,
        "staff": STAFF,
        "purpose": PURPOSE,
        "subjects": COUNT,
    },
    required=("batch", "affair", "institution", "department", "staff", "purpose", "subjects"),
    key="batch",
    summary="一括照会: a department's batch job (e.g. the yearly 現況 check); the requests it "
    "sends name it in their `batch` field, and it is their reason as a case is",
)
for _event, _summary in (
    (SYSTEM_CREATED, "an agency system (業務システム) and its key created"),
    (SYSTEM_DEACTIVATED, "an agency system's key deactivated"),
):
    register_event(
        _event,
        fields={"institution": INSTITUTION, "system": SYSTEM_KEY, "actor": ACTOR},
        required=("institution", "system", "actor"),
        summary=_summary,
    )


def actor_pseudonym(user: object) -> str:
    """How the ledger names who made a change: the staff pseudonym of a staff member, "AU" +
    16 hex digits (keyed, stable) for an administrator who is not staff, "system" for none."""
    if user is None or not getattr(user, "is_authenticated", False):
        return "system"
    staff = getattr(user, "staff_member", None)
    if staff is not None:
        return str(staff.audit_pseudonym)
    digest = hmac.new(
        decode_key(settings.NETWORK_TOKEN_KEY, "NETWORK_TOKEN_KEY"),
        f"yaritori/actor/v1|{user.pk}".encode(),  # type: ignore[attr-defined]
        hashlib.sha256,
    ).hexdigest()
    return "AU" + digest[:16].upper()


def record_change(
    *,
    event_type: str,
    fields: dict[str, object],
    subject: Person | None = None,
    moment: dt.datetime | None = None,
) -> None:
    """Append the entry of a change (dates as ISO days, None members left out), in the
    caller's transaction."""
    clean = {
        name: value.isoformat() if isinstance(value, dt.date) else value
        for name, value in fields.items()
        if value is not None and value != ""
    }
    ledger_append(
        event_type=event_type,
        fields=clean,
        subject=_subject(subject) if subject is not None else "",
        moment=moment,
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
