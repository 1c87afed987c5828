"""Behaviour rules: each fires on its pattern and stays quiet on a near miss. Entries written
directly (request_entry) are exactly what the network writes for a request; the window rules
do not care which service sent them."""

from __future__ import annotations

import datetime as dt

import pytest

from agencies.models import Household
from detection.services import watchlist_add, watchlist_remove
from tests.detection.helpers import (
    OFFICE,
    alerts,
    ask,
    at,
    clerk,
    open_case,
    request_entry,
    resident,
    rules_fired,
    scan,
    seqs_of,
)
from tests.support.factories import DepartmentFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.usefixtures("clock")


# --- the clerk's own record, relatives, coworkers -------------------------------------------------


def test_a_clerk_querying_their_own_record_fires_even_under_a_case(world):
    me = resident(world)
    world.clerk.person = me
    world.clerk.save()
    case = open_case(world, world.clerk, me)
    ask(world, world.clerk, me, case=case)
    scan()
    [alert] = alerts("behaviour.self_lookup")
    assert alert.severity == "high"


def test_a_colleague_handling_the_clerks_case_is_not_a_self_lookup(world):
    me = resident(world)
    world.clerk.person = me
    world.clerk.save()
    colleague = clerk(world, department=world.clerk.department)
    case = open_case(world, colleague, me)
    ask(world, colleague, me, case=case)
    scan()
    assert alerts() == []


def _household(world, *people_fields):
    household = Household.objects.create(organization=world.city, number="H1", address="北1条")
    return [resident(world, household=household, address="北1条", **f) for f in people_fields]


def test_a_clerk_querying_a_relative_without_a_case_fires(world):
    me, spouse = _household(world, {}, {})
    world.clerk.person = me
    world.clerk.save()
    ask(world, world.clerk, spouse)
    scan()
    assert {"behaviour.kin", "explain.no_case"} <= rules_fired()


def test_same_surname_and_address_counts_as_a_relative(world):
    me = resident(world, family_name="佐藤", address="南2条西3丁目")
    cousin = resident(world, family_name="佐藤", address="南2条西3丁目")
    world.clerk.person = me
    world.clerk.save()
    ask(world, world.clerk, cousin)
    scan()
    assert "behaviour.kin" in rules_fired()


def test_a_namesake_elsewhere_or_a_relative_under_a_case_is_not(world):
    me = resident(world, family_name="佐藤", address="南2条西3丁目")
    namesake = resident(world, family_name="佐藤", address="北5条")
    world.clerk.person = me
    world.clerk.save()
    ask(world, world.clerk, namesake)
    (spouse,) = _household(world, {})
    me.household = spouse.household
    me.save()
    case = open_case(world, world.clerk, spouse)
    ask(world, world.clerk, spouse, case=case)
    scan()
    assert "behaviour.kin" not in rules_fired()


def test_a_clerk_querying_a_coworker_of_the_organisation_fires(world):
    mate = resident(world)
    clerk(world, person=mate)  # any department of the same organisation
    ask(world, world.clerk, mate)
    scan()
    [alert] = alerts("behaviour.coworker")
    assert alert.subject and alert.staff_pseudonym == world.clerk.audit_pseudonym


def test_staff_of_another_organisation_is_no_coworker(world):
    outsider = resident(world)
    world.pension_clerk.person = outsider
    world.pension_clerk.save()
    ask(world, world.clerk, outsider)
    scan()
    assert "behaviour.coworker" not in rules_fired()


# --- the watchlist --------------------------------------------------------------------------------


def test_a_query_about_a_watched_person_fires_even_under_a_case(world):
    star = resident(world)
    watchlist_add(person=star, reason="public_figure", actor=UserFactory())
    case = open_case(world, world.clerk, star)
    ask(world, world.clerk, star, case=case)
    scan()
    [alert] = alerts("behaviour.watchlist")
    assert alert.severity == "high"


def test_no_alert_once_the_person_is_off_the_watchlist(world):
    star = resident(world)
    auditor = UserFactory()
    watchlist_remove(entry=watchlist_add(person=star, reason="other", actor=auditor), actor=auditor)
    case = open_case(world, world.clerk, star)
    ask(world, world.clerk, star, case=case)
    scan()
    assert alerts() == []


# --- many clerks to one person --------------------------------------------------------------------


def _clerks(world, n):
    return [clerk(world, department=world.clerk.department) for _ in range(n)]


def test_many_clerks_to_one_person_within_the_window_is_one_alert(world):
    star = PersonFactory()
    sent = [
        request_entry(world, staff=s, person=star, moment=at(10, 6 * i))
        for i, s in enumerate(_clerks(world, 5))
    ]
    scan()
    [alert] = alerts("behaviour.many_staff")
    assert alert.entry_count == len(sent) and alert.subject and alert.staff_pseudonym == ""


def test_four_clerks_exactly_a_window_apart_are_within_it(world):
    """The window includes its ends (the rows the database passes to the rule are at least
    those the rule counts)."""
    star = PersonFactory()
    for i, s in enumerate(_clerks(world, 4)):
        request_entry(world, staff=s, person=star, moment=at(10, 20 * i))  # 10:00 ... 11:00
    scan()
    [alert] = alerts("behaviour.many_staff")
    assert alert.entry_count == 4


@pytest.mark.parametrize("near", ["three_clerks", "spread_out"])
def test_fewer_clerks_or_a_longer_span_is_not(world, near):
    star = PersonFactory()
    if near == "three_clerks":
        for i, s in enumerate(_clerks(world, 3)):
            request_entry(world, staff=s, person=star, moment=at(10, 5 * i))
    else:
        for i, s in enumerate(_clerks(world, 4)):
            request_entry(world, staff=s, person=star, moment=at(9 + 2 * i))
    scan()
    assert "behaviour.many_staff" not in rules_fired()


def test_a_burst_that_arrives_out_of_order_is_found_with_all_its_entries(world):
    """Entries are judged in sequence order, not time order: the burst is found when its
    last entry arrives, in a later scan, and the earlier entries are linked to it."""
    star = PersonFactory()
    staff = _clerks(world, 4)
    for i, s in enumerate(staff[:3]):
        request_entry(world, staff=s, person=star, moment=at(10, 10 + i))
    scan()
    assert "behaviour.many_staff" not in rules_fired()
    request_entry(world, staff=staff[3], person=star, moment=at(10, 0))  # earlier, sent later
    scan()
    [alert] = alerts("behaviour.many_staff")
    assert alert.entry_count == 4


# --- volume ---------------------------------------------------------------------------------------


def _history(world, staff, *, per_day, days=10):
    day = OFFICE.date()
    sent = 0
    back = 1
    while sent < days:
        d = day - dt.timedelta(days=back)
        back += 1
        if d.weekday() >= 5:
            continue
        for k in range(per_day):
            request_entry(world, staff=staff, person=PersonFactory(), moment=at(9, k, day=d))
        sent += 1


def test_a_day_far_above_the_clerks_and_their_peers_usual_fires(world):
    peer = clerk(world, department=world.clerk.department)
    _history(world, world.clerk, per_day=2)
    _history(world, peer, per_day=3)
    today = [
        request_entry(world, staff=world.clerk, person=PersonFactory(), moment=at(9, k))
        for k in range(25)
    ]
    scan()
    [alert] = alerts("behaviour.volume")
    assert alert.entry_count == len(today) and alert.day == OFFICE.date()


def test_a_busy_day_for_a_clerk_who_is_always_busy_is_not(world):
    _history(world, world.clerk, per_day=12)
    for k in range(25):
        request_entry(world, staff=world.clerk, person=PersonFactory(), moment=at(9, k))
    scan()
    assert "behaviour.volume" not in rules_fired()


def test_a_small_day_is_never_a_volume_alert(world):
    _history(world, world.clerk, per_day=1)
    for k in range(19):  # below min_count, though 19 times the usual
        request_entry(world, staff=world.clerk, person=PersonFactory(), moment=at(9, k))
    scan()
    assert "behaviour.volume" not in rules_fired()


# --- office hours ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        at(22, 10),  # a working day's night
        at(5, 30),
        dt.datetime(2026, 6, 6, 10, 0, tzinfo=OFFICE.tzinfo),  # Saturday
        dt.datetime(2026, 5, 4, 10, 0, tzinfo=OFFICE.tzinfo),  # みどりの日
    ],
)
def test_a_query_outside_office_hours_fires(world, moment):
    request_entry(world, staff=world.clerk, person=PersonFactory(), moment=moment)
    scan()
    assert "behaviour.off_hours" in rules_fired()


@pytest.mark.parametrize("moment", [at(8, 30), at(17, 15), at(17, 40), at(8, 5)])
def test_office_hours_and_their_grace_are_not(world, moment):
    request_entry(world, staff=world.clerk, person=PersonFactory(), moment=moment)
    scan()
    assert "behaviour.off_hours" not in rules_fired()


# --- the same person again and again --------------------------------------------------------------


def test_the_same_person_again_and_again_fires(world):
    person = PersonFactory()
    for i in range(6):
        request_entry(world, staff=world.clerk, person=person, moment=at(9, 20 * i))
    scan()
    [alert] = alerts("behaviour.repeat_subject")
    assert alert.entry_count == 6


def test_six_times_exactly_a_window_apart_fires(world):
    person = PersonFactory()
    for i in range(6):
        request_entry(world, staff=world.clerk, person=person, moment=at(9, 96 * i))  # 8 h
    scan()
    [alert] = alerts("behaviour.repeat_subject")
    assert alert.entry_count == 6


def test_five_times_or_spread_over_two_days_is_not(world):
    person, other = PersonFactory(), PersonFactory()
    for i in range(5):
        request_entry(world, staff=world.clerk, person=person, moment=at(9, 20 * i))
    for i in range(6):
        day = OFFICE.date() - dt.timedelta(days=i)
        request_entry(world, staff=world.clerk, person=other, moment=at(11, day=day))
    scan()
    assert "behaviour.repeat_subject" not in rules_fired()


# --- one account on several terminals ------------------------------------------------------------


def test_one_account_on_two_terminals_at_overlapping_times_fires(world):
    seqs = [
        request_entry(world, staff=world.clerk, person=PersonFactory(), terminal=t, moment=m)
        for t, m in [("T1-1", at(10)), ("T1-1", at(10, 1)), ("REMOTE-77", at(10, 2))]
    ]
    scan()
    [alert] = alerts("behaviour.multi_terminal")
    assert alert.entry_count == len(seqs)


def test_a_window_finding_keeps_its_entries_times_and_tokyo_day(world):
    """Late in a Tokyo afternoon (07:00 UTC): the entries are linked at their own times, and
    the alert is of that day, not of the day nine hours later."""
    moments = [at(16), at(16, 1), at(16, 2)]
    for t, m in zip(["T1-1", "T1-1", "REMOTE-77"], moments, strict=True):
        request_entry(world, staff=world.clerk, person=PersonFactory(), terminal=t, moment=m)
    scan()
    [alert] = alerts("behaviour.multi_terminal")
    assert alert.day == OFFICE.date()
    assert (alert.first_at, alert.last_at) == (moments[0], moments[-1])
    assert sorted(alert.entries.values_list("at", flat=True)) == moments


def test_a_new_terminal_long_after_the_last_is_not(world):
    request_entry(world, staff=world.clerk, person=PersonFactory(), terminal="T1-1", moment=at(10))
    request_entry(world, staff=world.clerk, person=PersonFactory(), terminal="T2-1", moment=at(11))
    other = clerk(world)
    request_entry(world, staff=other, person=PersonFactory(), terminal="T3-1", moment=at(10, 1))
    scan()
    assert "behaviour.multi_terminal" not in rules_fired()


# --- batch queries --------------------------------------------------------------------------------


def test_a_batch_querys_requests_are_no_behaviour_finding(world):
    """A night batch job of 30 requests is explained by its batch: no volume, off-hours or
    repetition alert."""
    from audit.ledger import ledger_append

    batch = "5f0e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
    ledger_append(
        event_type="batch.opened",
        fields={
            "batch": batch,
            "affair": world.affair.code,
            "institution": world.mayor.code,
            "department": world.clerk.department.code,
            "staff": world.clerk.audit_pseudonym,
            "purpose": "annual_review",
            "subjects": "30",
        },
        moment=at(1),
    )
    person = PersonFactory()
    for k in range(30):
        request_entry(world, staff=world.clerk, person=person, batch=batch, moment=at(2, k))
    scan()
    assert alerts() == []


def test_an_alert_links_its_entries(world):
    person = PersonFactory()
    sent = [
        request_entry(world, staff=world.clerk, person=person, moment=at(22, i)) for i in range(3)
    ]
    scan()
    [alert] = alerts("behaviour.off_hours")
    assert len(seqs_of(alert)) == len(sent) == alert.entry_count


def test_other_organisations_bursts_are_their_own_alerts(world):
    """The many-clerks rule counts clerks of every organisation, but each requesting
    organisation gets its own alert with its own entries."""
    star = PersonFactory()
    city = _clerks(world, 2)
    neighbours = [
        clerk(world, department=DepartmentFactory(institution=world.neighbour)) for _ in range(2)
    ]
    for i, s in enumerate(city + neighbours):
        request_entry(world, staff=s, person=star, moment=at(10, i))
    scan()
    by_org = {a.organization_id: a.entry_count for a in alerts("behaviour.many_staff")}
    assert by_org == {world.city.pk: 2, world.neighbour.organization_id: 2}


def test_the_remembered_calendar_agrees_with_core_calendar():
    """The engine remembers working days; its office hours must be core.calendar's."""
    from core.calendar import TOKYO, in_office_hours
    from detection.engine import _in_office_hours

    start = dt.datetime(2025, 12, 26, 0, 0, tzinfo=TOKYO)
    for minutes in range(0, 14 * 24 * 60, 7):  # two weeks over the year's end, every 7 min
        moment = start + dt.timedelta(minutes=minutes, seconds=minutes % 60)
        assert _in_office_hours(moment) == in_office_hours(moment), moment


def test_with_no_usual_level_known_a_busy_day_is_not_judged(world):
    """A first day of a new office: nothing to be far above."""
    for k in range(40):
        request_entry(world, staff=world.clerk, person=PersonFactory(), moment=at(9, k))
    scan()
    assert "behaviour.volume" not in rules_fired()


def test_the_usual_level_is_the_weeks_around_the_day_however_they_arrive(world):
    """The spike's day is scanned first, the ordinary days after it: the spike is found
    when the history arrives."""
    for k in range(25):
        request_entry(world, staff=world.clerk, person=PersonFactory(), moment=at(9, k))
    scan()
    assert "behaviour.volume" not in rules_fired()
    later = OFFICE.date() + dt.timedelta(days=7)
    _history_from(world, world.clerk, later, per_day=2)
    request_entry(world, staff=world.clerk, person=PersonFactory(), moment=at(16))  # same day
    scan()
    [alert] = alerts("behaviour.volume")
    assert alert.entry_count == 26


def _history_from(world, staff, start, *, per_day, days=5):
    d, sent = start, 0
    while sent < days:
        if d.weekday() < 5:
            for k in range(per_day):
                request_entry(world, staff=staff, person=PersonFactory(), moment=at(9, k, day=d))
            sent += 1
        d += dt.timedelta(days=1)
