"""Demo linkage traffic (`seed_demo --traffic DAYS`): realistic requests through the network
service, with known kinds of misuse mixed in and written to a labels file for measuring
detection later.

Ordinary traffic: clerks work office hours on working days (Japanese holidays off, from
jpholiday), mostly under open cases of their own department, asking for items the permitted
table allows for the case's affair; June doubles the 児童手当 workload (現況届). Where the item
is held by the clerk's own institution (a city's tax records for its own residents), the
clerk uses it by 庁内連携 (agencies.network.internal_transfer_send), as a real office does:
the network only links different institutions. Every request, ordinary or not, goes through
the network service and so into the ledger. The injected misuse stays on the network (a
query to another institution where the clerk's own would hold the item). The generator is
deterministic for a seed and a fixed end date.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jpholiday

from agencies.demo import ItemHolders, load_world_data
from agencies.models import (
    AddresseeNumber,
    Affair,
    Case,
    CaseMember,
    Institution,
    InstitutionKind,
    LinkageRule,
    Person,
    StaffMember,
    StaffRole,
)
from agencies.network import (
    LinkageOutcome,
    consent_required,
    internal_transfer_send,
    linkage_request_send,
)

TOKYO = ZoneInfo("Asia/Tokyo")

MISUSE_KINDS = (
    "out_of_table",
    "tax_without_consent",
    "dv_protected",
    "unassigned_affair",
    "closed_case",
    "no_case",
    "household_swap",
    "self_lookup",
    "same_surname_address",
    "coworker",
    "celebrity",
    "volume_spike",
    "off_hours",
    "repeat_subject",
    "multi_terminal",
)


@dataclass
class TrafficReport:
    """What a traffic run sent: counts by outcome and by injected kind, and the labels."""

    requests: int = 0
    internal: int = 0  # of the requests, 庁内連携 within the clerk's own institution
    outcomes: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    labels: list[dict[str, str]] = field(default_factory=list)


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday and not a national holiday (jpholiday)."""
    return day.weekday() < 5 and not jpholiday.is_holiday(day)


@dataclass
class _Clerk:
    staff: StaffMember
    affair_ids: set[int]
    terminal: str


class _World:
    """What the generator needs, loaded once: clerks, cases, rules, addressee numbers."""

    def __init__(self) -> None:
        self.clerks = [
            _Clerk(s, {a.pk for a in s.assigned_affairs.all()}, f"T{s.department.code}-{s.pk}")
            for s in StaffMember.objects.filter(role=StaffRole.CLERK)
            .select_related("institution__organization", "department", "person", "user")
            .prefetch_related("assigned_affairs")
            .order_by("pk")
            if s.assigned_affairs.exists()
        ]
        self.addressee: dict[tuple[int, int], str] = {
            (org, person): number
            for org, person, number in AddresseeNumber.objects.values_list(
                "organization_id", "person_id", "number"
            )
        }
        self.rules: dict[int, list[LinkageRule]] = defaultdict(list)
        for rule in LinkageRule.objects.select_related("item", "affair", "provider_institution"):
            self.rules[rule.affair_id].append(rule)
        self.institutions = list(Institution.objects.select_related("organization"))
        self.by_code = {i.code: i for i in self.institutions}
        self.cases: dict[int, list[Case]] = defaultdict(list)
        for case in Case.objects.select_related("affair").order_by("pk"):
            self.cases[case.department_id].append(case)
        self.members: dict[int, list[int]] = defaultdict(list)
        for case_id, person_id in CaseMember.objects.values_list("case_id", "person_id"):
            self.members[case_id].append(person_id)
        self.persons = {
            p.pk: p
            for p in Person.objects.filter(pk__in={p for ps in self.members.values() for p in ps})
        }
        self.affairs = Affair.objects.in_bulk(field_name="code")
        self.holders = ItemHolders.from_data(load_world_data())

    def provider_for(
        self, requester: Institution, rule: LinkageRule, rng: random.Random
    ) -> Institution | None:
        """Where a clerk of requester sends a query under rule, never to the requester itself
        (the network links different institutions): the rule's named provider; else the
        institution that holds the item for the requester's residents, when it is of the
        rule's kind (the clerk knows where the records are); else one of that kind in the
        requester's organisation, its prefecture, or anywhere."""
        if rule.provider_institution is not None:
            named = rule.provider_institution
            return named if named.pk != requester.pk else None
        kind = rule.provider_kind
        held_by = self.by_code.get(
            self.holders.holder(requester.organization.code, rule.item.code) or ""
        )
        if held_by is not None and held_by.kind == kind and held_by.pk != requester.pk:
            return held_by
        others = [i for i in self.institutions if i.kind == kind and i.pk != requester.pk]
        same_org = [i for i in others if i.organization_id == requester.organization_id]
        if same_org and kind != InstitutionKind.PREFECTURE_HEAD:
            return same_org[0]
        pref = requester.organization.prefecture_name
        same_pref = [i for i in others if pref and i.organization.prefecture_name == pref]
        pool = same_org or same_pref or others
        return rng.choice(pool) if pool else None

    def holds_itself(self, requester: Institution, rule: LinkageRule) -> bool:
        """Whether the requester is itself an institution the rule names as provider: then
        its own records are where a clerk finds the item, by 庁内連携."""
        if rule.provider_institution_id is not None:
            return rule.provider_institution_id == requester.pk
        return rule.provider_kind == requester.kind

    def permitted(self, clerk: _Clerk, affair_id: int) -> list[LinkageRule]:
        kind = clerk.staff.institution.kind
        return [
            r
            for r in self.rules.get(affair_id, [])
            if (
                r.requester_institution_id == clerk.staff.institution_id or r.requester_kind == kind
            )
        ]


def _office_time(day: dt.date, rng: random.Random) -> dt.datetime:
    minutes = rng.randint(8 * 60 + 30, 17 * 60 + 15)
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60, rng.randint(0, 59)), TOKYO)


class _Sender:
    def __init__(self, world: _World, rng: random.Random, report: TrafficReport) -> None:
        self.world, self.rng, self.report = world, rng, report

    def send(
        self,
        clerk: _Clerk,
        *,
        affair_id: int,
        person_id: int,
        when: dt.datetime,
        case: Case | None,
        rule: LinkageRule | None = None,
        kind: str = "",
        terminal: str | None = None,
        item_override: bool = False,
    ) -> bool:
        """Send one request; returns False when it could not be addressed (no 宛名番号)."""
        staff = clerk.staff
        number = self.world.addressee.get((staff.institution.organization_id, person_id))
        rules = self.world.permitted(clerk, affair_id)
        rule = rule or (self.rng.choice(rules) if rules else None)
        if number is None or rule is None:
            return False
        if not kind and not item_override and self.world.holds_itself(staff.institution, rule):
            return self.transfer(clerk, rule=rule, number=number, when=when, case=case)
        provider = self.world.provider_for(staff.institution, rule, self.rng)
        if provider is None:
            return False
        item = rule.item
        if item_override:
            allowed = {r.item_id for r in rules}
            others = [
                r.item for rs in self.world.rules.values() for r in rs if r.item_id not in allowed
            ]
            if not others:
                return False
            item = self.rng.choice(others)
        request_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        outcome = linkage_request_send(
            staff=staff,
            request_id=request_id,
            affair=rule.affair,
            item=item,
            provider=provider,
            case=case,
            addressee_number=number,
            terminal=terminal or clerk.terminal,
            now=when.astimezone(dt.UTC),
        )
        self._count(outcome)
        if kind:
            self.report.injected[kind] += 1
            self.report.labels.append({"request_id": str(request_id), "kind": kind})
        return True

    def transfer(
        self,
        clerk: _Clerk,
        *,
        rule: LinkageRule,
        number: str,
        when: dt.datetime,
        case: Case | None,
    ) -> bool:
        """庁内連携 of the rule's item from the clerk's own institution."""
        institution = clerk.staff.institution
        source = self.world.holders.source_affair.get((institution.code, rule.item.code))
        outcome = internal_transfer_send(
            staff=clerk.staff,
            request_id=uuid.UUID(int=self.rng.getrandbits(128), version=4),
            affair=rule.affair,
            from_affair=self.world.affairs.get(source) if source else None,
            item=rule.item,
            case=case,
            addressee_number=number,
            now=when.astimezone(dt.UTC),
        )
        self._count(outcome)
        self.report.internal += 1
        return True

    def _count(self, outcome: LinkageOutcome) -> None:
        self.report.requests += 1
        self.report.outcomes[outcome.request.status] += 1


def _under_case(sender: _Sender, clerk: _Clerk, case: Case, when: dt.datetime, **kw: Any) -> bool:
    """Send a request under `case` about one of its members (the applicant when it has none)."""
    members = sender.world.members.get(case.pk) or [case.applicant_id]
    return sender.send(
        clerk,
        affair_id=case.affair_id,
        person_id=sender.rng.choice(members),
        when=when,
        case=case,
        **kw,
    )


def _open_cases(world: _World, clerk: _Clerk, when: dt.datetime) -> list[Case]:
    return [
        c
        for c in world.cases.get(clerk.staff.department_id, [])
        if c.affair_id in clerk.affair_ids and c.is_open_at(when)
    ]


def _ordinary(world: _World, sender: _Sender, clerk: _Clerk, day: dt.date, count: int) -> None:
    for _ in range(count):
        when = _office_time(day, sender.rng)
        cases = _open_cases(world, clerk, when)
        if not cases:
            return
        case = sender.rng.choice(cases)
        _under_case(sender, clerk, case, when)


def _misuse(world: _World, sender: _Sender, days: list[dt.date], per_kind: int) -> None:
    rng = sender.rng
    working = [d for d in days if is_working_day(d)] or days
    off = [d for d in days if not is_working_day(d)] or days

    def clerks_with(pred: Callable[[_Clerk], bool]) -> list[_Clerk]:
        return [c for c in world.clerks if pred(c)]

    def a_case(clerk: _Clerk, when: dt.datetime) -> Case | None:
        cases = _open_cases(world, clerk, when)
        return rng.choice(cases) if cases else None

    def caseless(clerk: _Clerk, people: list[int], kind: str) -> bool:
        """A lookup of someone from `people` with no case behind it, in office hours."""
        if not people:
            return False
        return sender.send(
            clerk,
            affair_id=rng.choice(sorted(clerk.affair_ids)),
            person_id=rng.choice(people),
            when=_office_time(rng.choice(working), rng),
            case=None,
            kind=kind,
        )

    def attempts() -> Iterator[int]:
        yield from range(per_kind * 20)  # give up quietly when the world lacks a shape

    def inject(kind: str, make: Callable[[], bool]) -> None:
        done = 0
        for _ in attempts():
            if done >= per_kind:
                return
            if make():
                done += 1

    def ordinary_like(kind: str, *, item_override: bool = False) -> Callable[[], bool]:
        def make() -> bool:
            clerk = rng.choice(world.clerks)
            when = _office_time(rng.choice(working), rng)
            case = a_case(clerk, when)
            if case is None:
                return False
            return _under_case(sender, clerk, case, when, kind=kind, item_override=item_override)

        return make

    inject("out_of_table", ordinary_like("out_of_table", item_override=True))

    def tax_without_consent() -> bool:
        clerk = rng.choice(world.clerks)
        when = _office_time(rng.choice(working), rng)
        for case in _open_cases(world, clerk, when):
            for rule in world.permitted(clerk, case.affair_id):
                if consent_required(item=rule.item, affair=case.affair):
                    return _under_case(
                        sender, clerk, case, when, rule=rule, kind="tax_without_consent"
                    )
        return False

    inject("tax_without_consent", tax_without_consent)

    protected = list(Person.objects.filter(disclosure_protected=True).values_list("pk", flat=True))

    def dv_protected() -> bool:
        return caseless(rng.choice(world.clerks), protected, "dv_protected")

    inject("dv_protected", dv_protected)

    def unassigned() -> bool:
        clerk = rng.choice(world.clerks)
        others = [a for a in world.rules if a not in clerk.affair_ids and world.permitted(clerk, a)]
        members = [p for ps in world.members.values() for p in ps]
        if not others or not members:
            return False
        when = _office_time(rng.choice(working), rng)
        return sender.send(
            clerk,
            affair_id=rng.choice(others),
            person_id=rng.choice(members),
            when=when,
            case=None,
            kind="unassigned_affair",
        )

    inject("unassigned_affair", unassigned)

    def closed_case() -> bool:
        clerk = rng.choice(world.clerks)
        closed = [
            c
            for c in world.cases.get(clerk.staff.department_id, [])
            if c.closed_at is not None and c.affair_id in clerk.affair_ids
        ]
        if not closed:
            return False
        case = rng.choice(closed)
        assert case.closed_at is not None
        day = max(case.closed_at.astimezone(TOKYO).date() + dt.timedelta(days=3), working[0])
        return _under_case(sender, clerk, case, _office_time(day, rng), kind="closed_case")

    inject("closed_case", closed_case)

    def no_case() -> bool:
        clerk = rng.choice(world.clerks)
        org = clerk.staff.institution.organization_id
        return caseless(clerk, [p for (o, p) in world.addressee if o == org], "no_case")

    inject("no_case", no_case)

    def household_swap() -> bool:
        clerk = rng.choice(world.clerks)
        when = _office_time(rng.choice(working), rng)
        case = a_case(clerk, when)
        if case is None:
            return False
        applicant = world.persons.get(case.applicant_id)
        if applicant is None or applicant.household_id is None:
            return False
        outside = list(
            Person.objects.filter(household_id=applicant.household_id)
            .exclude(pk__in=world.members.get(case.pk, []))
            .values_list("pk", flat=True)
        )
        if not outside:
            return False
        return sender.send(
            clerk,
            affair_id=case.affair_id,
            person_id=rng.choice(outside),
            when=when,
            case=case,
            kind="household_swap",
        )

    inject("household_swap", household_swap)

    with_person = clerks_with(lambda c: c.staff.person_id is not None)

    def self_lookup() -> bool:
        if not with_person:
            return False
        clerk = rng.choice(with_person)
        return caseless(clerk, [clerk.staff.person_id], "self_lookup")  # type: ignore[list-item]

    inject("self_lookup", self_lookup)

    def same_surname_address() -> bool:
        if not with_person:
            return False
        clerk = rng.choice(with_person)
        own = clerk.staff.person
        assert own is not None
        kin = Person.objects.filter(family_name=own.family_name, address=own.address).exclude(
            pk=own.pk
        )
        return caseless(clerk, list(kin.values_list("pk", flat=True)), "same_surname_address")

    inject("same_surname_address", same_surname_address)

    def coworker() -> bool:
        clerk = rng.choice(world.clerks)
        mates = [
            c.staff.person_id
            for c in with_person
            if c.staff.department_id == clerk.staff.department_id and c is not clerk
        ]
        return caseless(clerk, mates, "coworker")  # type: ignore[arg-type]

    inject("coworker", coworker)

    def celebrity() -> bool:
        orgs = Counter(c.staff.institution.organization_id for c in world.clerks)
        org = max(orgs, key=orgs.__getitem__)
        residents = [p for (o, p) in world.addressee if o == org]
        if not residents:
            return False
        star = rng.choice(residents)
        start = _office_time(rng.choice(working), rng)
        sent = 0
        for i, clerk in enumerate(
            c for c in world.clerks if c.staff.institution.organization_id == org
        ):
            if i >= 8:
                break
            sent += sender.send(
                clerk,
                affair_id=rng.choice(sorted(clerk.affair_ids)),
                person_id=star,
                when=start + dt.timedelta(minutes=6 * i),
                case=None,
                kind="celebrity",
            )
        return sent > 0

    inject("celebrity", celebrity)

    def volume_spike() -> bool:
        clerk = rng.choice(world.clerks)
        day = rng.choice(working)
        sent = 0
        for _ in range(40):
            when = _office_time(day, rng)
            case = a_case(clerk, when)
            if case is None:
                break
            sent += _under_case(sender, clerk, case, when, kind="volume_spike")
        return sent > 0

    inject("volume_spike", volume_spike)

    def off_hours() -> bool:
        clerk = rng.choice(world.clerks)
        day = rng.choice(off + working)
        when = dt.datetime.combine(
            day, dt.time(rng.choice([22, 23, 2, 5]), rng.randint(0, 59)), TOKYO
        )
        case = a_case(clerk, when)
        if case is None:
            return False
        return _under_case(sender, clerk, case, when, kind="off_hours")

    inject("off_hours", off_hours)

    def repeat_subject() -> bool:
        clerk = rng.choice(world.clerks)
        when = _office_time(rng.choice(working), rng)
        case = a_case(clerk, when)
        if case is None:
            return False
        person = case.applicant_id
        sent = 0
        for i in range(12):
            sent += sender.send(
                clerk,
                affair_id=case.affair_id,
                person_id=person,
                when=when + dt.timedelta(minutes=20 * i),
                case=case,
                kind="repeat_subject",
            )
        return sent > 0

    inject("repeat_subject", repeat_subject)

    def multi_terminal() -> bool:
        clerk = rng.choice(world.clerks)
        when = _office_time(rng.choice(working), rng)
        case = a_case(clerk, when)
        if case is None:
            return False
        sent = 0
        for i, terminal in enumerate([clerk.terminal, f"{clerk.terminal}-B", "REMOTE-77"]):
            sent += _under_case(
                sender,
                clerk,
                case,
                when + dt.timedelta(seconds=40 * i),
                kind="multi_terminal",
                terminal=terminal,
            )
        return sent > 0

    inject("multi_terminal", multi_terminal)


def traffic_generate(
    *,
    days: int,
    seed: int,
    end: dt.date,
    labels_path: Path,
    per_clerk_per_day: float = 2.0,
    misuse_per_kind: int = 3,
) -> TrafficReport:
    """Send `days` days of traffic ending on `end` (inclusive) and write the labels file.

    Each request is its own transaction through the network service; the labels file
    (JSON lines: request_id, kind) lists every injected request.
    """
    if days < 1:
        raise ValueError("--traffic needs at least 1 day")
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible on purpose
    world = _World()
    report = TrafficReport()
    sender = _Sender(world, rng, report)
    all_days = [end - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    for day in all_days:
        if not is_working_day(day):
            continue
        for clerk in world.clerks:
            factor = (
                2.0
                if day.month == 6
                and any(
                    "児童手当" in c.affair.name
                    for c in world.cases.get(clerk.staff.department_id, [])
                )
                else 1.0
            )
            mean = per_clerk_per_day * factor
            count = max(0, round(rng.gauss(mean, mean / 3)))
            _ordinary(world, sender, clerk, day, count)
    _misuse(world, sender, all_days, misuse_per_kind)
    labels_path.parent.mkdir(parents=True, exist_ok=True)
    with labels_path.open("w", encoding="utf-8") as out:
        for label in report.labels:
            out.write(json.dumps(label, ensure_ascii=False) + "\n")
    return report
