"""Reads of the detection app: what the scanner joins to ledger entries (staff, persons behind
subject pseudonyms, cases and their members, facts from earlier entries, auditors' settings),
and what pages and mails read of alerts.

The scanner reads in sets, one query per kind per batch of entries, never one per entry.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from agencies.models import Case, CaseMember, Consent, InformationItem, Person, StaffMember
from audit.entries import subject_pseudonym
from audit.selectors import AUDITORS_GROUP
from core.db import insert_rows
from detection.models import (
    Alert,
    AlertStatus,
    LedgerFact,
    PrivacyOfficer,
    RuleSetting,
    SubjectIndex,
    WatchlistEntry,
)
from detection.rules import RULES


@dataclass(frozen=True, slots=True)
class StaffInfo:
    """A staff member as the rules see them, with their own resident record's household,
    surname and address (StaffMember.person), for the self, kin and coworker rules."""

    id: int
    pseudonym: str
    institution_id: int
    institution_code: str
    department_id: int
    department_code: str
    organization_id: int
    person_id: int | None
    household_id: int | None
    family_name: str
    address: str
    affairs: frozenset[str]  # affair codes assigned today


@dataclass(frozen=True)
class StaffDirectory:
    """Every staff member by ledger pseudonym, and the resident records of each
    organisation's staff (person id -> staff id)."""

    by_pseudonym: Mapping[str, StaffInfo]
    persons_of_organization: Mapping[int, Mapping[int, int]]

    def coworker(self, staff: StaffInfo, person_id: int) -> bool:
        """Whether person_id is the resident record of another staff member of staff's
        organisation."""
        other = self.persons_of_organization.get(staff.organization_id, {}).get(person_id)
        return other is not None and other != staff.id


def staff_directory() -> StaffDirectory:
    """All staff members, read in two queries."""
    assigned: dict[int, set[str]] = defaultdict(set)
    through = StaffMember.assigned_affairs.through
    for staff_id, code in through.objects.values_list("staffmember_id", "affair__code"):
        assigned[staff_id].add(code)
    by_pseudonym: dict[str, StaffInfo] = {}
    persons: dict[int, dict[int, int]] = defaultdict(dict)
    rows = StaffMember.objects.values_list(
        "id",
        "audit_pseudonym",
        "institution_id",
        "institution__code",
        "department_id",
        "department__code",
        "institution__organization_id",
        "person_id",
        "person__household_id",
        "person__family_name",
        "person__address",
    )
    for sid, pseud, inst, inst_code, dept, dept_code, org, pid, hh, family, address in rows:
        by_pseudonym[pseud] = StaffInfo(
            sid,
            pseud,
            inst,
            inst_code,
            dept,
            dept_code,
            org,
            pid,
            hh,
            family or "",
            address or "",
            frozenset(assigned.get(sid, ())),
        )
        if pid is not None:
            persons[org][pid] = sid
    return StaffDirectory(by_pseudonym, persons)


@dataclass(frozen=True, slots=True)
class PersonInfo:
    """The person behind a subject pseudonym, as far as the rules need them."""

    id: int
    household_id: int | None
    family_name: str
    address: str
    protected: bool
    protected_from: dt.date | None
    protected_until: dt.date | None

    def protected_on(self, day: dt.date) -> bool:
        """Person.is_protected_on, on the values read."""
        if not self.protected:
            return False
        if self.protected_from and day < self.protected_from:
            return False
        return not (self.protected_until and day > self.protected_until)


_PERSON_COLUMNS = (
    "pseudonym",
    "person_id",
    "person__household_id",
    "person__family_name",
    "person__address",
    "person__disclosure_protected",
    "person__protected_from",
    "person__protected_until",
)


def persons_by_subject(subjects: Iterable[str]) -> dict[str, PersonInfo]:
    """The persons behind these subject pseudonyms, as far as the index knows them."""
    wanted = list(set(subjects))
    rows = SubjectIndex.objects.filter(pseudonym__any_of=wanted).values_list(*_PERSON_COLUMNS)
    return {row[0]: PersonInfo(*row[1:]) for row in rows}


def subject_index_fill(*, batch: int = 5000) -> int:
    """Index every person not indexed yet under their ledger pseudonym; returns how many.

    In the caller's transaction. A person's pseudonym never changes (a keyed hash of their
    public id), so an indexed person stays right.
    """
    missing = Person.objects.filter(
        ~Exists(SubjectIndex.objects.filter(person_id=OuterRef("pk")))
    ).values_list("pk", "public_id")
    added = 0
    rows: list[tuple[str, int]] = []
    for pk, public_id in missing.iterator(chunk_size=batch):
        rows.append((subject_pseudonym(str(public_id)), pk))
        if len(rows) >= batch:
            insert_rows(SubjectIndex, ("pseudonym", "person"), rows)
            added += len(rows)
            rows = []
    if rows:
        insert_rows(SubjectIndex, ("pseudonym", "person"), rows)
        added += len(rows)
    return added


@dataclass(frozen=True, slots=True)
class CaseInfo:
    """A case (案件) as a ledger entry names it: its department, affair and open period."""

    id: int
    department_id: int
    institution_id: int
    reference: str
    affair_code: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None

    def open_at(self, moment: dt.datetime) -> bool:
        """Case.is_open_at, on the values read."""
        return self.opened_at <= moment and (self.closed_at is None or moment < self.closed_at)


def _case_infos(cases: QuerySet[Case]) -> list[CaseInfo]:
    rows = list(
        cases.values_list(
            "id",
            "department_id",
            "department__institution_id",
            "reference",
            "affair__code",
            "opened_at",
            "closed_at",
        )
    )
    return [CaseInfo(*row) for row in rows]


def cases_by_reference(
    references: Iterable[tuple[int, str]],
) -> dict[tuple[int, str], list[CaseInfo]]:
    """Cases named by (institution id, 受付番号): a ledger entry names its case by reference,
    unique within a department, and the requester's institution bounds the search."""
    wanted = set(references)
    if not wanted:
        return {}
    qs = Case.objects.filter(
        reference__any_of=sorted({ref for _, ref in wanted}),
        department__institution_id__any_of=sorted({inst for inst, _ in wanted}),
    )
    found: dict[tuple[int, str], list[CaseInfo]] = defaultdict(list)
    for case in _case_infos(qs):
        key = (case.institution_id, case.reference)
        if key in wanted:
            found[key].append(case)
    return found


@dataclass(frozen=True, slots=True)
class Membership:
    """A person's membership of a case: the case's reference, department, affair and open
    period (POSIX seconds: a batch compares thousands of them)."""

    reference: str
    department_id: int
    affair_code: str
    opened: float
    closed: float | None

    def open_at(self, moment: dt.datetime) -> bool:
        """Case.is_open_at, on the values read."""
        ts = moment.timestamp()
        return self.opened <= ts and (self.closed is None or ts < self.closed)


# PostgreSQL: the times as seconds (float8), which the driver reads in C; Django's
# time-zone-aware loader for timestamptz runs in Python, and this query returns thousands.
# The cases open during the batch first (a few thousand), then their members: probing the
# members of every subject first and filtering their cases after reads several times more.
_MEMBERSHIPS_SQL = """
WITH open_cases AS MATERIALIZED (
    SELECT id, reference, department_id, affair_id, opened_at, closed_at FROM agencies_case
    WHERE department_id = ANY(%s) AND opened_at <= %s AND (closed_at IS NULL OR closed_at > %s)
)
SELECT cm.person_id, c.reference, c.department_id, a.code,
       extract(epoch FROM c.opened_at)::float8, extract(epoch FROM c.closed_at)::float8
FROM open_cases c
JOIN agencies_casemember cm ON cm.case_id = c.id
JOIN agencies_affair a ON a.id = c.affair_id
WHERE cm.person_id = ANY(%s)
"""


def memberships(
    person_ids: Iterable[int],
    department_ids: Iterable[int],
    *,
    between: tuple[dt.datetime, dt.datetime],
) -> dict[int, list[Membership]]:
    """For each person, the cases of these departments that include them and are open at
    some moment of `between` (opened before its end, not closed before its start)."""
    persons, departments = sorted(set(person_ids)), sorted(set(department_ids))
    if not persons or not departments:
        return {}
    first, last = between
    found: dict[int, list[Membership]] = defaultdict(list)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_MEMBERSHIPS_SQL, [departments, last, first, persons])
            for person_id, *case in cursor.fetchall():
                found[person_id].append(Membership(*case))
        return found
    rows = (
        CaseMember.objects.filter(
            person_id__any_of=persons,
            case__department_id__any_of=departments,
            case__opened_at__lte=last,
        )
        .exclude(case__closed_at__lte=first)
        .values_list(
            "person_id",
            "case__reference",
            "case__department_id",
            "case__affair__code",
            "case__opened_at",
            "case__closed_at",
        )
    )
    for person_id, reference, department_id, affair, opened_at, closed_at in rows:
        found[person_id].append(
            Membership(
                reference,
                department_id,
                affair,
                opened_at.timestamp(),
                closed_at.timestamp() if closed_at else None,
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class Fact:
    """A LedgerFact as the rules read it."""

    seq: int
    event_type: str
    at: dt.datetime
    fields: Mapping[str, Any]


def facts_by_key(keys: Iterable[str]) -> dict[str, list[Fact]]:
    """The facts recorded under each key, oldest first (by time, then sequence)."""
    found: dict[str, list[Fact]] = defaultdict(list)
    rows = LedgerFact.objects.filter(key__any_of=sorted(set(keys))).order_by("at", "seq")
    for seq, event_type, key, at, fields in rows.values_list(
        "seq", "event_type", "key", "at", "fields"
    ):
        found[key].append(Fact(seq, event_type, at, fields))
    return found


def consent_periods(
    person_ids: Iterable[int],
) -> dict[tuple[int, str, str, str], list[tuple[dt.date, dt.date | None]]]:
    """Consent periods by (person id, requester institution code, affair code, item code)."""
    periods: dict[tuple[int, str, str, str], list[tuple[dt.date, dt.date | None]]] = defaultdict(
        list
    )
    rows = Consent.objects.filter(person_id__any_of=sorted(set(person_ids))).values_list(
        "person_id", "institution__code", "affair__code", "item__code", "valid_from", "valid_to"
    )
    for person, inst, affair, item, start, end in rows:
        periods[(person, inst, affair, item)].append((start, end))
    return periods


def consent_pairs() -> frozenset[tuple[str, str]]:
    """(item code, affair code) pairs for which querying the item needs the person's consent."""
    rows = InformationItem.consent_affairs.through.objects.values_list(
        "informationitem__code", "affair__code"
    )
    return frozenset(rows)


@dataclass(frozen=True)
class RuleConfig:
    """Which rules run, with which thresholds, as auditors set them (defaults otherwise)."""

    enabled: frozenset[str]
    params: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def on(self, code: str) -> bool:
        return code in self.enabled

    def param(self, code: str, name: str) -> int:
        return self.params[code][name]


def rule_config() -> RuleConfig:
    """The rule settings in force, one query."""
    settings = {s.code: s for s in RuleSetting.objects.all()}
    enabled: set[str] = set()
    params: dict[str, dict[str, int]] = {}
    for code, rule in RULES.items():
        setting = settings.get(code)
        values = rule.defaults()
        if setting is not None:
            values.update(
                {
                    k: int(v)
                    for k, v in (setting.params or {}).items()
                    if k in values and isinstance(v, int)
                }
            )
        params[code] = values
        if setting is None or setting.enabled:
            enabled.add(code)
    return RuleConfig(frozenset(enabled), params)


def watched_subjects() -> frozenset[str]:
    """Subject pseudonyms on the watchlist now."""
    return frozenset(
        WatchlistEntry.objects.filter(removed_at__isnull=True).values_list("subject", flat=True)
    )


@dataclass(frozen=True)
class Recipient:
    """Who a detection mail goes to: key names the user (for the outbox's dedupe key), email
    is their address, language the language of their mails."""

    key: str
    email: str
    language: str


def _national_auditors() -> list[Recipient]:
    from django.contrib.auth import get_user_model

    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=AUDITORS_GROUP)
        .exclude(email="")
        .order_by("pk")
        .distinct()
    )
    return [Recipient(key=f"u{user.pk}", email=user.email, language="ja") for user in users]


def _officers(organization_id: int | None = None) -> list[tuple[int, Recipient]]:
    officers = (
        PrivacyOfficer.objects.filter(ended_at__isnull=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("pk")
    )
    if organization_id is not None:
        officers = officers.filter(organization_id=organization_id)
    return [
        (
            officer.organization_id,
            Recipient(
                key=f"u{officer.user_id}", email=officer.user.email, language=officer.language
            ),
        )
        for officer in officers
    ]


def officers_for(*, organization_id: int | None, restricted: bool) -> list[Recipient]:
    """Who is told about an alert: the requesting organisation's privacy officers in office
    (with an e-mail address), or, for an alert about persons protected from disclosure (and
    for the national digest), the national auditors only: the members of the auditors group."""
    if restricted or organization_id is None:
        return _national_auditors()
    return [recipient for _, recipient in _officers(organization_id)]


class OfficerBook:
    """Every recipient, read once, answering officers_for without a query."""

    def __init__(self) -> None:
        self._national = _national_auditors()
        self._by_org: dict[int, list[Recipient]] = defaultdict(list)
        for organization_id, recipient in _officers():
            self._by_org[organization_id].append(recipient)

    def officers_for(self, *, organization_id: int | None, restricted: bool) -> list[Recipient]:
        """As officers_for()."""
        if restricted or organization_id is None:
            return list(self._national)
        return list(self._by_org.get(organization_id, ()))


def alerts_opened_on(
    *, day: dt.date, organization_id: int | None, restricted: bool
) -> QuerySet[Alert]:
    """Alerts detected on day (Tokyo): an organisation's unrestricted ones, or (national) the
    restricted ones of every organisation."""
    from core.calendar import TOKYO

    start = dt.datetime.combine(day, dt.time(0), TOKYO)
    qs = Alert.objects.filter(
        created_at__gte=start, created_at__lt=start + dt.timedelta(days=1), restricted=restricted
    )
    if not restricted:
        qs = qs.filter(organization__isnull=organization_id is None)
        if organization_id is not None:
            qs = qs.filter(organization_id=organization_id)
    return qs.order_by("rule", "pk")


def alerts_open_count(*, organization_id: int | None, restricted: bool) -> int:
    """How many alerts of that scope still wait for a decision (new or investigating)."""
    qs = Alert.objects.filter(
        status__in=[AlertStatus.NEW, AlertStatus.INVESTIGATING], restricted=restricted
    )
    if not restricted:
        qs = qs.filter(organization__isnull=organization_id is None)
        if organization_id is not None:
            qs = qs.filter(organization_id=organization_id)
    return qs.count()
