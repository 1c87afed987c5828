"""The demo office: the clerks, their cases and the permitted routes as the traffic sees them,
and the sender that puts each request through the network service (or records a 庁内連携)."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from agencies.models import (
    AddresseeNumber,
    Affair,
    Capacity,
    Case,
    CaseMember,
    Institution,
    LinkageRule,
    Person,
    StaffMember,
    StaffRole,
)
from agencies.network.outcomes import LinkageOutcome
from agencies.network.rules import provider_matches, rules_for_requester
from agencies.network.services import internal_transfer_send, linkage_request_send
from core.calendar import office_minutes, office_moment
from demo.world import ItemHolders, load_world_data


@dataclass
class TrafficReport:
    """What a traffic run sent: counts by outcome and by injected kind, and the labels."""

    requests: int = 0
    internal: int = 0  # of the requests, 庁内連携 within the clerk's own institution
    outcomes: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    labels: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Clerk:
    staff: StaffMember
    affair_ids: set[int]
    terminal: str


class World:
    """What the generator needs, loaded once: clerks, cases, rules, addressee numbers."""

    def __init__(self) -> None:
        self.clerks = [
            Clerk(s, {a.pk for a in s.assigned_affairs.all()}, f"T{s.department.code}-{s.pk}")
            for s in StaffMember.objects.filter(role=StaffRole.CLERK)
            .select_related("institution__organization", "department", "person", "user")
            .prefetch_related("assigned_affairs")
            .order_by("pk")
            if s.assigned_affairs.exists()
        ]
        # Who lives with each clerk: a clerk does not handle the case of their own household
        # (another clerk of the department does), so ordinary traffic never looks a clerk's
        # family up; only the injected misuse does.
        households = {c.staff.person.household_id for c in self.clerks if c.staff.person}
        self.household_members: dict[int, set[int]] = defaultdict(set)
        for pid, hid in Person.objects.filter(household_id__in=households).values_list(
            "pk", "household_id"
        ):
            self.household_members[hid].add(pid)
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
        # Where each person lives (the municipality of their household): whom to ask about
        # them for what a municipality holds.
        self.home = dict(
            Person.objects.filter(household__isnull=False).values_list(
                "pk", "household__organization__code"
            )
        )

    def provider_for(
        self,
        requester: Institution,
        rule: LinkageRule,
        rng: random.Random,
        person_id: int | None = None,
    ) -> Institution | None:
        """Where a clerk of requester sends a query under rule, never to the requester itself
        (the network links different institutions): the rule's named provider; else the
        institution that holds the item for the person's municipality (where they live, as a
        national body asks the 住所地), or for the requester's, when it holds the rule's
        capacity (the clerk knows where the records are); else one holding it in the
        requester's organisation, its prefecture, or anywhere."""
        if rule.provider_institution is not None:
            named = rule.provider_institution
            return named if named.pk != requester.pk else None
        home = self.home.get(person_id or 0, requester.organization.code)
        held_by = self.by_code.get(self.holders.holder(home, rule.item.code) or "")
        if held_by is not None and provider_matches(rule, held_by) and held_by.pk != requester.pk:
            return held_by
        others = [
            i for i in self.institutions if provider_matches(rule, i) and i.pk != requester.pk
        ]
        same_org = [i for i in others if i.organization_id == requester.organization_id]
        # A prefectural capacity is served by the prefecture for the residents of its towns.
        prefectural = {Capacity.PREFECTURE_GOVERNOR, Capacity.WELFARE_AUTHORITY}
        if same_org and rule.provider_capacity not in prefectural:
            return same_org[0]
        pref = requester.organization.prefecture_name
        same_pref = [i for i in others if pref and i.organization.prefecture_name == pref]
        pool = same_org or same_pref or others
        return rng.choice(pool) if pool else None

    def holds_itself(self, requester: Institution, rule: LinkageRule) -> bool:
        """Whether the requester is itself an institution the rule names as provider: then
        its own records are where a clerk finds the item, by 庁内連携."""
        return provider_matches(rule, requester)

    def permitted(self, clerk: Clerk, affair_id: int) -> list[LinkageRule]:
        """The rules the network's table has for the clerk's institution and affair_id, with
        their item, affair and named provider loaded."""
        matching = rules_for_requester(requester=clerk.staff.institution, affair_id=affair_id)
        keep = {rule.pk for rule in matching}
        return [rule for rule in self.rules.get(affair_id, []) if rule.pk in keep]


def office_time(day: dt.date, rng: random.Random) -> dt.datetime:
    """A random moment of day within office hours (core.calendar)."""
    return office_moment(day, rng.randint(0, office_minutes()), rng.randint(0, 59))


class Sender:
    def __init__(self, world: World, rng: random.Random, report: TrafficReport) -> None:
        self.world, self.rng, self.report = world, rng, report

    def send(
        self,
        clerk: Clerk,
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
        if rule is None:
            # A clerk's system offers only the table's rows in force that day, for an affair
            # whose linkage has begun: an ended row is no route anybody picks by mistake.
            day = timezone.localdate(when)
            rules = [
                r
                for r in self.world.permitted(clerk, affair_id)
                if r.valid_on(day) and r.affair.linkage_allowed_on(day)
            ]
            rule = self.rng.choice(rules) if rules else None
        if number is None or rule is None:
            return False
        if not kind and not item_override and self.world.holds_itself(staff.institution, rule):
            return self.transfer(clerk, rule=rule, number=number, when=when, case=case)
        provider = self.world.provider_for(staff.institution, rule, self.rng, person_id)
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
        clerk: Clerk,
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


def under_case(sender: Sender, clerk: Clerk, case: Case, when: dt.datetime, **kw: Any) -> bool:
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


def own_household(world: World, clerk: Clerk) -> set[int]:
    """The person ids of the clerk's household (their own record included), if they have one."""
    person = clerk.staff.person
    if person is None or person.household_id is None:
        return {person.pk} if person else set()
    return world.household_members.get(person.household_id, {person.pk})


def open_cases(world: World, clerk: Clerk, when: dt.datetime) -> list[Case]:
    return [
        c
        for c in world.cases.get(clerk.staff.department_id, [])
        if c.affair_id in clerk.affair_ids and c.is_open_at(when)
    ]
