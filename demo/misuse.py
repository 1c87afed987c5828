"""Injected misuse for the demo traffic: each kind is a way real clerks have misused the
network, written to the labels file so that detection can be measured against it. Nothing in
the product may read these labels or this module."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator

from django.utils import timezone

from agencies.models import Case, Consent, Person
from agencies.network.rules import consent_required
from core.calendar import TOKYO, is_working_day
from demo.office import Clerk, Sender, World, office_time, open_cases, under_case

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


def inject_misuse(world: World, sender: Sender, days: list[dt.date], per_kind: int) -> None:
    rng = sender.rng
    working = [d for d in days if is_working_day(d)] or days
    off = [d for d in days if not is_working_day(d)] or days

    def clerks_with(pred: Callable[[Clerk], bool]) -> list[Clerk]:
        return [c for c in world.clerks if pred(c)]

    def a_case(clerk: Clerk, when: dt.datetime) -> Case | None:
        cases = open_cases(world, clerk, when)
        return rng.choice(cases) if cases else None

    def caseless(clerk: Clerk, people: list[int], kind: str) -> bool:
        """A lookup of someone from `people` with no case behind it, in office hours."""
        if not people:
            return False
        return sender.send(
            clerk,
            affair_id=rng.choice(sorted(clerk.affair_ids)),
            person_id=rng.choice(people),
            when=office_time(rng.choice(working), rng),
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
            when = office_time(rng.choice(working), rng)
            case = a_case(clerk, when)
            if case is None:
                return False
            return under_case(sender, clerk, case, when, kind=kind, item_override=item_override)

        return make

    inject("out_of_table", ordinary_like("out_of_table", item_override=True))

    def tax_without_consent() -> bool:
        # A member of an open case whose consent for this requester, affair and item is not in
        # force that day: the clerk queries a consent-bound item without the signed form.
        clerk = rng.choice(world.clerks)
        when = office_time(rng.choice(working), rng)
        day = timezone.localdate(when)
        for case in open_cases(world, clerk, when):
            members = world.members.get(case.pk) or [case.applicant_id]
            for rule in world.permitted(clerk, case.affair_id):
                if not rule.valid_on(day) or not consent_required(
                    item=rule.item, affair=case.affair
                ):
                    continue
                consents = Consent.objects.filter(
                    person_id__in=members,
                    affair_id=case.affair_id,
                    institution=clerk.staff.institution,
                    item=rule.item,
                )
                consented = {c.person_id for c in consents if c.valid_on(day)}
                unconsented = [m for m in members if m not in consented]
                if unconsented:
                    return sender.send(
                        clerk,
                        affair_id=case.affair_id,
                        person_id=rng.choice(unconsented),
                        when=when,
                        case=case,
                        rule=rule,
                        kind="tax_without_consent",
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
        when = office_time(rng.choice(working), rng)
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
        return under_case(sender, clerk, case, office_time(day, rng), kind="closed_case")

    inject("closed_case", closed_case)

    def no_case() -> bool:
        # Someone no open case explains for the affair: neither a member of an open case of
        # that affair (any department's, to be sure) nor of a member's household.
        clerk = rng.choice(world.clerks)
        affair_id = rng.choice(sorted(clerk.affair_ids))
        when = office_time(rng.choice(working), rng)
        members = {
            p
            for cases in world.cases.values()
            for c in cases
            if c.affair_id == affair_id and c.is_open_at(when)
            for p in (world.members.get(c.pk) or [c.applicant_id])
        }
        households = {
            world.persons[p].household_id
            for p in members
            if p in world.persons and world.persons[p].household_id is not None
        }
        explained = members | set(
            Person.objects.filter(household_id__in=households).values_list("pk", flat=True)
        )
        org = clerk.staff.institution.organization_id
        people = sorted(p for (o, p) in world.addressee if o == org and p not in explained)
        if not people:
            return False
        return sender.send(
            clerk,
            affair_id=affair_id,
            person_id=rng.choice(people),
            when=when,
            case=None,
            kind="no_case",
        )

    inject("no_case", no_case)

    def household_swap() -> bool:
        clerk = rng.choice(world.clerks)
        when = office_time(rng.choice(working), rng)
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
        start = office_time(rng.choice(working), rng)
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
            when = office_time(day, rng)
            case = a_case(clerk, when)
            if case is None:
                break
            sent += under_case(sender, clerk, case, when, kind="volume_spike")
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
        return under_case(sender, clerk, case, when, kind="off_hours")

    inject("off_hours", off_hours)

    def repeat_subject() -> bool:
        clerk = rng.choice(world.clerks)
        when = office_time(rng.choice(working), rng)
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
        when = office_time(rng.choice(working), rng)
        case = a_case(clerk, when)
        if case is None:
            return False
        sent = 0
        for i, terminal in enumerate([clerk.terminal, f"{clerk.terminal}-B", "REMOTE-77"]):
            sent += under_case(
                sender,
                clerk,
                case,
                when + dt.timedelta(seconds=40 * i),
                kind="multi_terminal",
                terminal=terminal,
            )
        return sent > 0

    inject("multi_terminal", multi_terminal)
