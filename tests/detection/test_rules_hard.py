"""Hard rules: each fires on the violation and stays quiet on its near miss.

Most requests go through the network service (the gate's refusal reasons); what the gate
lets through or never sees (庁内連携, changes recorded later than the database saw them) is
written as ledger entries of the domain's contract."""

from __future__ import annotations

import datetime as dt

import pytest

from agencies.models import Consent, Person
from agencies.services import case_close
from audit.entries import subject_pseudonym
from audit.ledger import ledger_append
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
)
from tests.support.factories import DepartmentFactory, transfer_internally

pytestmark = pytest.mark.usefixtures("clock")


# --- outside the permitted table ------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"item": "resident_item"}, "not_in_permitted_table"),
        ({"item": "tax"}, "rule_not_valid_on_date"),  # the tax row ended in 2019
        ({"affair": "unnotified"}, "affair_not_notified"),
        ({"provider": "mayor"}, "provider_is_requester"),
    ],
)
def test_a_refused_out_of_table_attempt_fires(world, overrides, reason):
    person = resident(world)
    outcome = ask(
        world, world.clerk, person, **{k: getattr(world, v) for k, v in overrides.items()}
    )
    assert outcome.request.reason == reason
    scan()
    [alert] = alerts("hard.out_of_table")
    assert alert.severity == "high" and alert.staff_pseudonym == world.clerk.audit_pseudonym


def test_a_permitted_request_under_its_case_and_a_mere_error_do_not(world):
    person = resident(world)
    case = open_case(world, world.clerk, person)
    assert ask(world, world.clerk, person, case=case).request.status == "provided"
    # Not found is an error, not a violation (an unknown addressee number).
    assert ask(world, world.clerk, person, addressee_number="999999999999999").request.reason == (
        "subject_not_found"
    )
    scan()
    assert not {r for r in rules_fired() if r.startswith("hard.")}


# --- consent -----------------------------------------------------------------------------------


def tax_request(world, person, **kw):
    """地方税関係情報 for school aid from the neighbouring city: needs the person's consent."""
    return ask(
        world,
        world.clerk,
        person,
        affair=world.school,
        item=world.tax,
        provider=world.neighbour,
        **kw,
    )


def test_a_query_without_consent_fires(world):
    person = resident(world)
    assert tax_request(world, person).request.reason == "consent_missing"
    scan()
    # Each rule judges on its own: no case explains it either.
    assert rules_fired() == {"hard.consent_missing", "explain.no_case"}


def test_a_consented_query_does_not(world):
    person = resident(world)
    Consent.objects.create(
        person=person,
        affair=world.school,
        institution=world.mayor,
        item=world.tax,
        valid_from=OFFICE.date() - dt.timedelta(days=30),
        document_reference="同意書-1",
    )
    case = open_case(world, world.clerk, person, affair=world.school)
    assert tax_request(world, person, case=case).request.status != "refused"
    scan()
    assert "hard.consent_missing" not in rules_fired()


def test_a_consent_withdrawn_on_the_ledger_fires_even_if_the_gate_let_it_pass(world, clock):
    """The consent row is still in the database (the gate passes), but the ledger records its
    withdrawal before the request: the ledger's contract decides."""
    person = resident(world)
    Consent.objects.create(
        person=person,
        affair=world.school,
        institution=world.mayor,
        item=world.tax,
        valid_from=OFFICE.date() - dt.timedelta(days=30),
        document_reference="同意書-2",
    )
    fields = {
        "institution": world.mayor.code,
        "affair": world.school.code,
        "item": world.tax.code,
        "actor": "system",
    }
    subject = subject_pseudonym(str(person.public_id))
    ledger_append(
        event_type="consent.given",
        subject=subject,
        moment=at(8),
        fields={**fields, "valid_from": "2026-05-01"},
    )
    ledger_append(event_type="consent.withdrawn", subject=subject, moment=at(9), fields=fields)
    case = open_case(world, world.clerk, person, affair=world.school)
    assert tax_request(world, person, case=case).request.status != "refused"
    scan()
    assert "hard.consent_missing" in rules_fired()


# --- 不開示 -----------------------------------------------------------------------------------


def protected(world) -> Person:
    return resident(
        world,
        disclosure_protected=True,
        protection_reason="DV等支援措置",
        protected_from=OFFICE.date() - dt.timedelta(days=10),
        protected_until=OFFICE.date() + dt.timedelta(days=300),
    )


def test_an_unexplained_query_about_a_protected_person_fires_for_national_auditors(world):
    victim = protected(world)
    ask(world, world.clerk, victim)
    scan()
    [alert] = alerts("hard.nondisclosure")
    assert alert.restricted and alert.severity == "high"
    # Every alert about the request is restricted: none is kept for the organisation.
    assert all(a.restricted for a in alerts())


def test_a_query_about_a_protected_person_under_their_open_case_does_not(world):
    victim = protected(world)
    case = open_case(world, world.clerk, victim)
    ask(world, world.clerk, victim, case=case)
    scan()
    assert alerts() == []


def test_nondisclosure_set_on_the_ledger_counts_as_protection(world):
    person = resident(world)  # not protected in the database
    ledger_append(
        event_type="nondisclosure.set",
        subject=subject_pseudonym(str(person.public_id)),
        fields={
            "organization": world.city.code,
            "valid_from": "2026-06-01",
            "nondisclosure": True,
            "actor": "system",
        },
        moment=at(8),
    )
    ask(world, world.clerk, person)
    scan()
    assert "hard.nondisclosure" in rules_fired()


def test_nondisclosure_lifted_before_the_query_does_not(world):
    person = resident(world)
    subject = subject_pseudonym(str(person.public_id))
    base = {"organization": world.city.code, "nondisclosure": True, "actor": "system"}
    ledger_append(event_type="nondisclosure.set", subject=subject, moment=at(8), fields=base)
    ledger_append(event_type="nondisclosure.lifted", subject=subject, moment=at(9), fields=base)
    ask(world, world.clerk, person)
    scan()
    assert "hard.nondisclosure" not in rules_fired()


# --- assignment ----------------------------------------------------------------------------------


def test_a_query_for_an_affair_not_assigned_fires(world):
    stranger = clerk(world, affairs=[world.school])
    person = resident(world)
    assert ask(world, stranger, person).request.reason == "staff_not_assigned"
    scan()
    assert "hard.not_assigned" in rules_fired()


def test_an_assignment_ended_on_the_ledger_fires_and_one_granted_again_does_not(world, clock):
    person = resident(world)
    case = open_case(world, world.clerk, person, now=at(8, 30))
    fields = {
        "institution": world.mayor.code,
        "staff": world.clerk.audit_pseudonym,
        "affair": world.affair.code,
        "actor": "system",
    }
    ledger_append(event_type="assignment.ended", fields=fields, moment=at(9))
    ask(world, world.clerk, person, case=case, now=at(9, 30))
    ledger_append(event_type="assignment.granted", fields=fields, moment=at(10))
    ask(world, world.clerk, person, case=case, now=at(10, 30))
    ask(world, world.clerk, person, case=case, now=at(8, 45))  # before the end: assigned
    scan()
    [alert] = alerts("hard.not_assigned")
    assert alert.entry_count == 1 and alert.first_at == at(9, 30)


# --- cases -----------------------------------------------------------------------------------


def test_a_query_under_a_closed_case_fires(world, clock):
    person = resident(world)
    case = open_case(world, world.clerk, person, now=at(9))
    case = case_close(staff=world.clerk, case=case, now=at(9, 30))
    assert ask(world, world.clerk, person, case=case).request.reason == "case_closed"
    scan()
    assert "hard.case_invalid" in rules_fired()


def test_a_query_under_another_departments_case_fires(world):
    person = resident(world)
    other = clerk(world)
    case = open_case(world, other, person)
    assert ask(world, world.clerk, person, case=case).request.reason == "case_other_department"
    scan()
    assert "hard.case_invalid" in rules_fired()


def test_an_internal_transfer_under_a_closed_case_fires(world):
    # The 庁内連携 service refuses it (case_closed) and records the attempt; the attempt is the
    # finding, as a refused network query's is.
    person = resident(world)
    case = open_case(world, world.clerk, person, affair=world.school, now=at(9))
    case = case_close(staff=world.clerk, case=case, now=at(9, 30))
    outcome = transfer_internally(
        world, case=case, addressee_number=person.addressee_number, now=at(10)
    )
    assert (outcome.request.status, outcome.request.reason) == ("refused", "case_closed")
    scan()
    assert "hard.case_invalid" in rules_fired()


def test_an_internal_transfer_under_its_open_case_does_not(world):
    person = resident(world)
    case = open_case(world, world.clerk, person, affair=world.school)
    transfer_internally(world, case=case, addressee_number=person.addressee_number, now=at(10))
    scan()
    assert alerts() == []


# --- ordinance (庁内連携) ------------------------------------------------------------------------


def test_a_transfer_refused_as_outside_the_ordinance_fires(world):
    person = resident(world)
    request_entry(
        world,
        staff=world.clerk,
        person=person,
        event_type="internal.transfer",
        provider=world.mayor.code,
        affair=world.school.code,
        item=world.resident_item.code,
        from_affair=world.affair.code,
        outcome="refused",
        reason="not_in_ordinance",
    )
    scan()
    assert "hard.outside_ordinance" in rules_fired()


def test_transfers_are_judged_against_the_ordinance_rows_on_the_ledger(world):
    covered, uncovered = resident(world), resident(world)
    ledger_append(
        event_type="ordinance.added",
        fields={
            "organization": world.city.code,
            "affair": world.school.code,
            "item": world.resident_item.code,
            "from_affair": world.affair.code,
            "valid_from": "2026-04-01",
            "actor": "system",
        },
        moment=at(8),
    )
    for person in (covered, uncovered):
        open_case(world, world.clerk, person, affair=world.school)
    transfer_internally(world, addressee_number=covered.addressee_number, now=at(10))
    transfer_internally(
        world, addressee_number=uncovered.addressee_number, item=world.tax, now=at(10, 5)
    )
    scan()
    [alert] = alerts("hard.outside_ordinance")
    assert alert.entry_count == 1 and alert.first_at == at(10, 5)


def test_without_an_ordinance_table_on_the_ledger_a_transfer_is_not_judged(world):
    person = resident(world)
    open_case(world, world.clerk, person, affair=world.school)
    transfer_internally(world, addressee_number=person.addressee_number, now=at(10))
    scan()
    assert "hard.outside_ordinance" not in rules_fired()


def test_a_department_elsewhere_cannot_explain_by_its_case(world):
    """The same 受付番号 in another institution's department is not the clerk's case."""
    person = resident(world)
    elsewhere = clerk(world, department=DepartmentFactory(institution=world.board))
    open_case(world, elsewhere, person)
    ask(world, world.clerk, person)
    scan()
    assert "explain.no_case" in rules_fired()
