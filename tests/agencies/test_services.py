"""The agencies' write services outside the network: cases, the household look-up, operator
credentials. Each change is a ledger entry written in the same transaction."""

import datetime as dt
import json

import pytest
from django.db import DatabaseError, transaction

from agencies.models import MAX_CASE_MEMBERS, Case, Household, OperatorCredential
from agencies.services import (
    CaseError,
    case_close,
    case_open,
    household_lookup,
    operator_credential_issue,
    operator_credential_revoke,
)
from audit.entries import parse_leaf, subject_pseudonym
from audit.models import LedgerIntake
from tests.support.factories import AffairFactory, PersonFactory

NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)


def records(event_type=None):
    rows = LedgerIntake.objects.order_by("id")
    if event_type:
        rows = rows.filter(event_type=event_type)
    return [parse_leaf(leaf) for leaf in rows.values_list("leaf", flat=True)]


@pytest.fixture
def family(world):
    """The world's person with a spouse and a child in one household, and a brother who lives
    elsewhere."""
    home = Household.objects.create(organization=world.city, number="0000000001", address="札幌")
    world.person.household = home
    world.person.save()
    spouse = PersonFactory(household=home, relationship="妻")
    child = PersonFactory(household=home, relationship="子")
    brother = PersonFactory()
    return world.person, spouse, child, brother


def test_the_household_is_shown_only_for_an_assigned_affair_and_each_look_is_recorded(
    world, family
):
    applicant, spouse, child, _ = family
    shown = household_lookup(staff=world.clerk, affair=world.affair, applicant=applicant, now=NOW)
    assert {p.pk for p in shown} == {applicant.pk, spouse.pk, child.pk}
    looks = records("person.lookup")
    assert {r.subject for r in looks} == {
        subject_pseudonym(str(p.public_id)) for p in (applicant, spouse, child)
    }
    for record in looks:
        assert record.fields["staff"] == world.clerk.audit_pseudonym
        assert record.fields["affair"] == world.affair.code
        assert record.fields["purpose"] == "case_intake"
    assert sorted(r.fields["relation"] for r in looks) == ["applicant", "household", "household"]
    with pytest.raises(CaseError, match="not assigned"):
        household_lookup(staff=world.clerk, affair=AffairFactory(), applicant=applicant)
    assert len(records("person.lookup")) == 3  # the refused look-up showed and recorded nothing


def test_a_case_concerns_the_household_and_others_only_with_a_stated_relation(world, family):
    applicant, spouse, child, brother = family
    with pytest.raises(CaseError, match="outside the applicant's household"):
        case_open(
            staff=world.clerk,
            affair=world.affair,
            reference="R8-1",
            applicant=applicant,
            members=[(spouse, "妻"), (brother, "兄")],
        )
    assert not Case.objects.exists() and not LedgerIntake.objects.exists()
    case = case_open(
        staff=world.clerk,
        affair=world.affair,
        reference="R8-1",
        applicant=applicant,
        members=[(spouse, "妻"), (child, ""), (brother, "扶養義務者")],
        now=NOW,
    )
    assert case.members.count() == 4
    [opened] = records("case.opened")
    assert opened.subject == subject_pseudonym(str(applicant.public_id))
    assert opened.fields == {
        "case": "R8-1",
        "affair": world.affair.code,
        "institution": world.mayor.code,
        "department": world.clerk.department.code,
        "staff": world.clerk.audit_pseudonym,
    }
    relations = {r.subject: r.fields["relation"] for r in records("case.member")}
    assert relations == {
        subject_pseudonym(str(applicant.public_id)): "applicant",
        subject_pseudonym(str(spouse.public_id)): "household",
        subject_pseudonym(str(child.public_id)): "household",
        subject_pseudonym(str(brother.public_id)): "support_obligor",
    }


def test_a_case_has_at_most_the_stated_number_of_members(world, family):
    applicant = family[0]
    others = [(PersonFactory(), "別居の親族") for _ in range(MAX_CASE_MEMBERS)]
    with pytest.raises(CaseError, match=str(MAX_CASE_MEMBERS)):
        case_open(
            staff=world.clerk,
            affair=world.affair,
            reference="R8-2",
            applicant=applicant,
            members=others,
        )
    case = case_open(
        staff=world.clerk,
        affair=world.affair,
        reference="R8-2",
        applicant=applicant,
        members=others[: MAX_CASE_MEMBERS - 1],
    )
    assert case.members.count() == MAX_CASE_MEMBERS


def test_closing_a_case_is_recorded_once(world, family):
    case = case_open(
        staff=world.clerk,
        affair=world.affair,
        reference="R8-3",
        applicant=family[0],
        members=[],
        now=NOW - dt.timedelta(days=1),
    )
    case_close(staff=world.clerk, case=case, now=NOW)
    with pytest.raises(CaseError, match="already closed"):
        case_close(staff=world.clerk, case=case)
    [closed] = records("case.closed")
    assert closed.fields["case"] == "R8-3" and closed.time == NOW


def test_a_case_is_not_opened_when_its_entry_cannot_be_written(
    world, family, intake_refuses_inserts
):
    with pytest.raises(DatabaseError, match="disk full"), transaction.atomic():
        case_open(
            staff=world.clerk,
            affair=world.affair,
            reference="R8-4",
            applicant=family[0],
            members=[],
        )
    assert not Case.objects.filter(reference="R8-4").exists()


def test_operator_credentials_are_issued_once_and_revoked_on_the_record(world):
    credential, secret = operator_credential_issue(staff=world.clerk)
    assert secret.startswith("yo_") and credential.prefix in secret
    stored = OperatorCredential.objects.get()
    assert secret not in json.dumps([stored.prefix, stored.token_hash])  # only the hash is kept
    operator_credential_revoke(credential=credential)
    operator_credential_revoke(credential=credential)  # once only
    assert [r.event_type for r in records()] == ["credential.issued", "credential.revoked"]
    for record in records():
        assert record.fields == {
            "institution": world.mayor.code,
            "staff": world.clerk.audit_pseudonym,
            "credential": credential.prefix,
        }
        assert secret not in record.leaf().decode()
