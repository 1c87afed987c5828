"""Explanation rules (explanation-based auditing): a request is explained when the requesting
department has an open case in that affair whose members include the subject, or when it
belongs to a batch query (一括照会) of that department and affair."""

from __future__ import annotations

import uuid

import pytest

from agencies.services import case_close
from audit.ledger import ledger_append
from detection.models import Access
from tests.detection.helpers import (
    alerts,
    ask,
    at,
    clerk,
    family,
    open_case,
    request_entry,
    resident,
    rules_fired,
    scan,
)
from tests.support.factories import PersonFactory

pytestmark = pytest.mark.usefixtures("clock")


def test_a_query_with_no_case_fires(world):
    person = resident(world)
    ask(world, world.clerk, person)
    scan()
    [alert] = alerts("explain.no_case")
    assert alert.severity == "medium" and alert.entry_count == 1
    assert not Access.objects.get().explained


def test_an_open_case_of_the_department_in_that_affair_explains_a_query_naming_none(world):
    """Explained by a case, though the query does not name it (e.g. sent by a business
    system that does not pass 受付番号)."""
    applicant, child = family(world, 2)
    open_case(world, world.clerk, applicant, members=[child])
    colleague = clerk(world, department=world.clerk.department)
    ask(world, colleague, child)
    scan()
    assert alerts() == []
    assert Access.objects.get().explained


@pytest.mark.parametrize("near", ["closed", "other_affair", "other_department"])
def test_a_case_that_does_not_cover_the_query_does_not_explain_it(world, near):
    person = resident(world)
    if near == "closed":
        case = open_case(world, world.clerk, person, now=at(8, 30))
        case_close(staff=world.clerk, case=case, now=at(9))
    elif near == "other_affair":
        open_case(world, world.clerk, person, affair=world.school)
    else:
        open_case(world, clerk(world), person)
    ask(world, world.clerk, person)
    scan()
    assert rules_fired() == {"explain.no_case"}


def test_a_query_about_someone_outside_the_named_case_fires(world):
    """The mix-up the seed warns about: the case is the clerk's, open, of the affair, but the
    person queried is not one of its members (here: in the applicant's household all the
    same, yet not listed on the case)."""
    applicant, sibling = family(world, 2)
    case = open_case(world, world.clerk, applicant)
    assert ask(world, world.clerk, sibling, case=case).request.status == "provided"
    scan()
    [alert] = alerts("explain.outside_case")
    assert alert.entry_count == 1
    assert "explain.no_case" not in rules_fired()


def test_a_query_about_a_member_of_the_named_case_does_not(world):
    applicant, child = family(world, 2)
    case = open_case(world, world.clerk, applicant, members=[child])
    ask(world, world.clerk, child, case=case)
    scan()
    assert alerts() == []


def _batch(world, staff, *, affair=None, department=None, moment=None) -> str:
    batch = str(uuid.uuid4())
    ledger_append(
        event_type="batch.opened",
        fields={
            "batch": batch,
            "affair": (affair or world.affair).code,
            "institution": staff.institution.code,
            "department": department or staff.department.code,
            "staff": staff.audit_pseudonym,
            "purpose": "annual_review",
            "subjects": "2",
        },
        moment=moment or at(9),
    )
    return batch


def test_a_batch_query_of_the_department_and_affair_explains_its_requests(world):
    batch = _batch(world, world.clerk)
    people = [PersonFactory(), PersonFactory()]
    for person in people:
        request_entry(world, staff=world.clerk, person=person, batch=batch, moment=at(9, 1))
    scan()
    assert alerts() == []
    assert all(a.explained and a.batch for a in Access.objects.all())


@pytest.mark.parametrize("near", ["other_affair", "other_department", "unknown", "before"])
def test_a_batch_that_does_not_match_explains_nothing(world, near):
    if near == "other_affair":
        batch = _batch(world, world.clerk, affair=world.school)
    elif near == "other_department":
        batch = _batch(world, world.clerk, department="OTHER1")
    elif near == "before":
        batch = _batch(world, world.clerk, moment=at(11))
    else:
        batch = str(uuid.uuid4())
    request_entry(world, staff=world.clerk, person=PersonFactory(), batch=batch, moment=at(9, 1))
    scan()
    assert rules_fired() == {"explain.no_case"}
