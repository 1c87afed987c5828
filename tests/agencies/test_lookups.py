"""Who a typed number names, found only in the organisation's own records, and every look
recorded (agencies.lookups): the service behind the staff pages' confirmation step."""

import datetime as dt
import json

import pytest
import time_machine

from agencies.lookups import LookupNotAllowed, subject_lookup
from agencies.models import AddresseeNumber, Household, LinkageRequest
from agencies.services import case_close, case_open
from audit.models import LedgerIntake
from tests.support.factories import (
    WORLD_ADDRESSEE,
    DepartmentFactory,
    PersonFactory,
    StaffFactory,
    issue_token,
    my_number_for,
)

NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def lookups():
    return [
        json.loads(leaf)
        for leaf in LedgerIntake.objects.filter(event_type="person.lookup")
        .order_by("id")
        .values_list("leaf", flat=True)
    ]


@pytest.fixture
def family(world):
    """The world's person (the applicant) with a spouse and a child in one household, and a
    case for the 児童手当 affair that concerns all three."""
    household = Household.objects.create(organization=world.city, number="H1", address="札幌市")
    world.person.household, world.person.relationship = household, "世帯主"
    world.person.save()
    spouse = PersonFactory(
        household=household, relationship="妻", given_name="花子", my_number=my_number_for(20)
    )
    child = PersonFactory(household=household, relationship="子", my_number=my_number_for(30))
    AddresseeNumber.objects.create(organization=world.city, person=spouse, number="000000000022222")
    AddresseeNumber.objects.create(organization=world.city, person=child, number="000000000033333")
    case = case_open(
        staff=world.clerk,
        affair=world.affair,
        reference="R8-100",
        applicant=world.person,
        members=[(spouse, "妻"), (child, "子")],
    )
    world.spouse, world.child, world.case = spouse, child, case
    return world


def test_a_my_number_is_resolved_within_the_organisations_own_records(world):
    found = subject_lookup(staff=world.clerk, affair=world.affair, my_number=my_number_for(1))
    assert found.person == world.person
    assert found.addressee_number == WORLD_ADDRESSEE
    assert found.relation == "no_case"
    [entry] = lookups()
    assert entry["subject"].startswith("SJ")
    assert (entry["purpose"], entry["relation"], entry["staff"]) == (
        "query_confirm",
        "no_case",
        world.clerk.audit_pseudonym,
    )
    assert my_number_for(1) not in json.dumps(entry)


def test_a_number_outside_the_records_is_nobody_recorded_without_a_subject(world):
    """A person known only to the neighbouring city is, to this city, exactly like a number
    nobody holds: no person, and the same subject-less entry. Nothing goes to the network."""
    elsewhere = PersonFactory(my_number=my_number_for(7001))
    AddresseeNumber.objects.create(
        organization=world.neighbour.organization, person=elsewhere, number="000000000000777"
    )
    issue_token(world.neighbour, elsewhere)
    known_elsewhere = subject_lookup(
        staff=world.clerk, affair=world.affair, my_number=my_number_for(7001)
    )
    nobody = subject_lookup(staff=world.clerk, affair=world.affair, my_number=my_number_for(7002))
    assert known_elsewhere is None and nobody is None
    first, second = lookups()
    for entry in (first, second):
        assert "subject" not in entry
        assert (entry["purpose"], entry["relation"]) == ("my_number_resolution", "none")
    assert {k: v for k, v in first.items() if k != "time"} == {
        k: v for k, v in second.items() if k != "time"
    }
    assert not LinkageRequest.objects.exists()
    assert my_number_for(7001) not in json.dumps([first, second])


def test_an_unknown_addressee_number_is_nobody_and_not_a_look(world):
    assert subject_lookup(staff=world.clerk, affair=world.affair, addressee_number="999") is None
    assert lookups() == []


def test_a_national_body_resolves_among_the_persons_it_holds_a_token_for(world):
    """The pension service keeps no 宛名番号: its records are its 符号."""
    world.pension_clerk.assigned_affairs.add(world.affair)
    found = subject_lookup(
        staff=world.pension_clerk, affair=world.affair, my_number=my_number_for(1)
    )
    assert found.person == world.person
    assert found.addressee_number == ""
    no_token_there = PersonFactory(my_number=my_number_for(8001))
    AddresseeNumber.objects.create(organization=world.city, person=no_token_there, number="8001")
    assert (
        subject_lookup(
            staff=world.pension_clerk, affair=world.affair, my_number=my_number_for(8001)
        )
        is None
    )
    # A 宛名番号 names nobody at a body that keeps none.
    assert (
        subject_lookup(
            staff=world.pension_clerk, affair=world.affair, addressee_number=WORLD_ADDRESSEE
        )
        is None
    )


def test_the_relation_to_the_cases_applicant_is_shown_and_recorded(family):
    w = family
    applicant = subject_lookup(
        staff=w.clerk, affair=w.affair, case=w.case, addressee_number=WORLD_ADDRESSEE
    )
    spouse = subject_lookup(
        staff=w.clerk, affair=w.affair, case=w.case, my_number=my_number_for(20)
    )
    assert (applicant.relation, applicant.is_applicant) == ("applicant", True)
    assert (spouse.person, spouse.relation, spouse.role) == (w.spouse, "household", "妻")
    assert not spouse.is_applicant and spouse.may_be_queried
    assert [e["relation"] for e in lookups()] == ["applicant", "household"]


def test_a_resident_the_case_does_not_concern_may_not_be_queried_under_it(family):
    w = family
    neighbour = PersonFactory(my_number=my_number_for(40))
    AddresseeNumber.objects.create(organization=w.city, person=neighbour, number="000000000044444")
    found = subject_lookup(staff=w.clerk, affair=w.affair, case=w.case, my_number=my_number_for(40))
    assert found.relation == "not_case_member"
    assert not found.may_be_queried
    [entry] = lookups()
    assert entry["relation"] == "not_case_member"


def test_only_an_assigned_clerk_may_look_and_only_under_an_open_case_of_their_own(family):
    w = family
    w.clerk.assigned_affairs.remove(w.affair)
    with pytest.raises(LookupNotAllowed):
        subject_lookup(staff=w.clerk, affair=w.affair, my_number=my_number_for(20))
    w.clerk.assigned_affairs.add(w.affair)
    other_department = StaffFactory(
        department=DepartmentFactory(institution=w.mayor), affairs=[w.affair, w.school]
    )
    with pytest.raises(LookupNotAllowed):
        subject_lookup(
            staff=other_department, affair=w.affair, case=w.case, my_number=my_number_for(20)
        )
    with pytest.raises(LookupNotAllowed):  # the case is of another affair
        subject_lookup(staff=w.clerk, affair=w.school, case=w.case, my_number=my_number_for(20))
    case_close(staff=w.clerk, case=w.case)
    w.case.refresh_from_db()
    with pytest.raises(LookupNotAllowed):
        subject_lookup(staff=w.clerk, affair=w.affair, case=w.case, my_number=my_number_for(20))
    assert lookups() == []
