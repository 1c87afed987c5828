"""What the gate decides on, read in one statement (the network's hot path).

The hot path bypasses the ORM's query compiler (about 0.4 ms of CPU per query, ten times a
simple statement's round trip) and, on PostgreSQL, prepares its statement once per
connection (core.db).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone

from agencies.codes import normalize_my_number
from agencies.models import Case, Institution, LinkageRequest, Person, ProvisionCopy, StaffMember
from agencies.mynumber_crypto import blind_index
from agencies.selectors import staff_by_credential_sql
from agencies.tokens import secret_hash
from core.db import fetch_one


@dataclass(frozen=True)
class PresentedOperator:
    """The operator as an agency system presents it: the operator's own credential (checked
    only within the system's institution, never taken on the system's word), and the 受付番号
    of the case it works under (if any)."""

    institution: Institution
    credential: str
    case_reference: str | None = None


@dataclass(frozen=True)
class GateFacts:
    """Everything the gate and the provider's answer need to know about one request.

    subject, copy, and the staff member and case found by name are partial model instances
    (only the fields named here are loaded; any other field is fetched on first access, as
    with QuerySet.only()).
    """

    existing_request_id: int | None
    staff_assigned: bool
    subject: Person | None
    # The subject is in the requester's own records: a 宛名番号 of its organisation, or a 符号
    # the requester holds. A My Number resolves country-wide through the blind index, but the
    # gate treats a person outside those records as not found.
    subject_known: bool
    token_held: bool
    copy: ProvisionCopy | None
    staff: StaffMember | None = None  # found by PresentedOperator: active, that institution's
    case: Case | None = None  # found by PresentedOperator's 受付番号, in that institution


_SUBJECT_BY_ADDRESSEE = (
    "SELECT an.person_id FROM agencies_addresseenumber an "
    "WHERE an.organization_id = %(organization)s AND an.number = %(subject_key)s"
)
_SUBJECT_BY_INDEX = (
    "SELECT pm.id FROM agencies_person pm WHERE pm.my_number_index = %(subject_key)s"
)
# A person the requester has already resolved in its own records (the staff pages' confirmation
# step): named by id, and still only known to the gate if in those records (subject_known).
_SUBJECT_BY_ID = "SELECT pi.id FROM agencies_person pi WHERE pi.id = %(subject_key)s"
_SUBJECTS = {
    "addressee_number": _SUBJECT_BY_ADDRESSEE,
    "my_number": _SUBJECT_BY_INDEX,
    "person": _SUBJECT_BY_ID,
}
# Two departments may use one reference: the operator's own department's case wins (the gate
# refuses another department's), else the lowest id. No reference never matches: an empty
# string is not a case's 受付番号. {staff} is the operator's id (SQLite lets no subquery in a
# join condition see the tables joined before it, so the operator is found again here).
_CASE_BY_REFERENCE = """
    SELECT c2.id FROM agencies_case c2 JOIN agencies_department d ON d.id = c2.department_id
    WHERE d.institution_id = %(requester)s AND c2.reference = %(reference)s
    ORDER BY CASE WHEN c2.department_id = (
        SELECT s3.department_id FROM agencies_staffmember s3 WHERE s3.id = ({staff})
    ) THEN 0 ELSE 1 END, c2.id LIMIT 1
"""
_FACTS_SQL = """
SELECT
  (SELECT r.id FROM agencies_linkagerequest r WHERE r.request_id = %(request_id)s),
  EXISTS (SELECT 1 FROM agencies_staffmember_assigned_affairs a
          WHERE a.staffmember_id = s.id AND a.affair_id = %(affair)s),
  p.id, p.public_id, p.disclosure_protected, p.protected_from, p.protected_until,
  EXISTS (SELECT 1 FROM agencies_institutiontoken t
          WHERE t.institution_id = %(requester)s AND t.person_id = p.id),
  EXISTS (SELECT 1 FROM agencies_addresseenumber ka
          WHERE ka.organization_id = %(organization)s AND ka.person_id = p.id),
  c.id, c.payload, c.manual_answer, c.nondisclosure,
  s.id, s.department_id, s.role, s.audit_pseudonym,
  k.id, k.affair_id, k.department_id, k.reference, k.opened_at, k.closed_at
FROM (SELECT 1 AS one) anchor
LEFT JOIN agencies_staffmember s ON s.id = ({staff})
LEFT JOIN agencies_case k ON k.id = ({case})
LEFT JOIN agencies_person p ON p.id = ({subject})
LEFT JOIN agencies_institutiontoken pt ON pt.institution_id = %(provider)s AND pt.person_id = p.id
LEFT JOIN agencies_provisioncopy c
  ON c.token_id = pt.id AND c.institution_id = %(provider)s AND c.item_id = %(item)s
"""
_PERSON_FIELDS = ["id", "public_id", "disclosure_protected", "protected_from", "protected_until"]
_COPY_FIELDS = ["id", "payload", "manual_answer", "nondisclosure"]
_STAFF_FIELDS = ["id", "department_id", "role", "audit_pseudonym"]
_CASE_FIELDS = ["id", "affair_id", "department_id", "reference", "opened_at", "closed_at"]


@cache
def _facts_sql(presented: bool, subject_by: str) -> str:
    """The facts statement, its staff member and case by id or by name, its subject by
    宛名番号, by My Number or by id (six texts, each prepared once per connection)."""
    return _FACTS_SQL.format(
        staff=staff_by_credential_sql() if presented else "%(staff)s",
        case=_CASE_BY_REFERENCE.format(staff=staff_by_credential_sql())
        if presented
        else "%(case)s",
        subject=_SUBJECTS[subject_by],
    )


def _aware(value: Any) -> dt.datetime | None:
    # sqlite3 may hand timestamps back as text, and stores them as naive UTC.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value


def _date(value: Any) -> dt.date | None:
    # sqlite3 hands dates back as ISO text; psycopg as dates.
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def linkage_facts(
    *,
    request_id: uuid.UUID,
    operator: StaffMember | PresentedOperator,
    requester: Institution,
    case: Case | None = None,
    provider_id: int,
    affair_id: int,
    item_id: int,
    addressee_number: str | None = None,
    my_number: str | None = None,
    subject: Person | None = None,
) -> GateFacts:
    """Read, in one statement, what linkage_request_send decides on: whether the request id
    is taken, whether the staff member is assigned to the affair, the subject (by the
    requester's 宛名番号 or by My Number through the blind index) with its 不開示 period,
    whether it is in the requester's own records, whether the requester holds a 符号 for it,
    and the provider's 副本 of the item.

    The operator is a StaffMember, or a PresentedOperator: then the same statement finds the
    staff member by their operator credential and the case by its 受付番号, both within the
    requester (GateFacts.staff and .case, None where there is no such active staff member,
    valid credential or case), and case is not given.

    The subject may also be a person given as such (subject), resolved beforehand in the
    requester's own records; the gate still checks that it is in them.

    Raises django's ValidationError for a malformed My Number (the message never repeats it).
    """
    presented = isinstance(operator, PresentedOperator)
    key: str | int
    if subject is not None:
        subject_by, key = "person", subject.pk
    elif my_number:
        subject_by, key = "my_number", blind_index(normalize_my_number(my_number))
    else:
        subject_by, key = "addressee_number", addressee_number or ""
    params: dict[str, Any] = {
        "request_id": LinkageRequest._meta.get_field("request_id").get_db_prep_value(
            request_id, connection
        ),
        "affair": affair_id,
        "organization": requester.organization_id,
        "subject_key": key,
        "requester": requester.pk,
        "provider": provider_id,
        "item": item_id,
    }
    if isinstance(operator, PresentedOperator):
        params.update(
            credential=secret_hash(operator.credential),
            yes=True,
            reference=operator.case_reference or "",
        )
    else:
        params.update(staff=operator.pk, case=case.pk if case is not None else None)
    row = fetch_one(_facts_sql(presented, subject_by), params)
    assert row is not None  # the anchor row is always there
    existing, assigned, person_id, public_id, protected, p_from, p_until, token = row[:8]
    has_addressee_number = row[8]
    copy_id, payload, manual, copy_protected = row[9:13]
    found_subject = None
    if person_id is not None:
        found_subject = Person.from_db(
            connection.alias,
            _PERSON_FIELDS,
            [
                person_id,
                public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(public_id),
                bool(protected),
                _date(p_from),
                _date(p_until),
            ],
        )
    copy = None
    if copy_id is not None:
        copy = ProvisionCopy.from_db(
            connection.alias,
            _COPY_FIELDS,
            [
                copy_id,
                json.loads(payload) if isinstance(payload, str | bytes) else payload,
                bool(manual),
                bool(copy_protected),
            ],
        )
    staff = found_case = None
    if presented and row[13] is not None:
        staff = StaffMember.from_db(connection.alias, _STAFF_FIELDS, list(row[13:17]))
        staff.institution = requester
    if presented and row[17] is not None:
        found_case = Case.from_db(
            connection.alias, _CASE_FIELDS, [*row[17:21], _aware(row[21]), _aware(row[22])]
        )
    return GateFacts(
        existing_request_id=existing,
        staff_assigned=bool(assigned),
        subject=found_subject,
        subject_known=bool(token) or bool(has_addressee_number),
        token_held=bool(token),
        copy=copy,
        staff=staff,
        case=found_case,
    )
