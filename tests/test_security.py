"""The security issue, tried as an attacker would, one attack per control (docs/security.md).

Each test here failed on the code before these controls: a DV-protected subject told to any
requester, another department's or a closed case answered, the register walked unseen, a
password guessed at will, a deep JSON body crashing a worker, a My Number in an error mail, no
rate limit, an operator impersonated by naming them, and rewritten history blamed on the
wrong entry. The detailed tests of each control are in the modules docs/security.md names.
"""

import datetime as dt
import json
import sys
import uuid

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.core.signals import got_request_exception
from django.db import connection
from django.test import Client, override_settings
from rest_framework.test import APIClient

from agencies.models import AddresseeNumber, Case, Household, LinkageRequest
from agencies.staff import views as staff_views
from audit.db_guards import triggers_disabled
from audit.ledger import ledger_append, ledger_integrate
from audit.models import LedgerEntry, LedgerIntake
from tests.support.events import TEST_EVENT
from tests.support.factories import PersonFactory, my_number_for
from tests.support.factories import request_body as body

NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)  # a Wednesday morning in Tokyo
SEND = "/api/agency/requests"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def protect(person):
    person.disclosure_protected = True
    person.protection_reason = "DV等支援措置"
    person.save()


def test_1_a_requester_cannot_learn_that_a_subject_is_under_a_dv_measure(world, api):
    """Any agency key, any outcome: the answer about a protected person is the answer about
    anyone else in the same situation."""
    manual = api["mayor"].post(
        SEND, body(item=world.resident_item.code, provider=world.board.code), format="json"
    )
    protect(world.person)
    held = api["mayor"].post(
        SEND, body(), format="json"
    )  # the pension copy: held only because protected
    refused = api["mayor"].post(SEND, body(item=world.tax.code), format="json")
    for response in (manual, held, refused):
        assert "nondisclosure" not in response.json()
        assert "不開示" not in response.content.decode()
    assert held.json()["message"] == manual.json()["message"]


def test_1_a_requester_cannot_test_whether_a_my_number_exists_elsewhere(world, api):
    elsewhere = PersonFactory(my_number=my_number_for(9001))
    AddresseeNumber.objects.create(
        organization=world.neighbour.organization, person=elsewhere, number="9001"
    )
    known = api["mayor"].post(
        SEND, body(addressee_number=None, my_number=my_number_for(9001)), format="json"
    )
    unknown = api["mayor"].post(
        SEND, body(addressee_number=None, my_number=my_number_for(9002)), format="json"
    )
    assert known.json()["message"] == unknown.json()["message"]
    assert known.json()["status"] == unknown.json()["status"] == "refused"


def test_2_another_departments_or_a_closed_case_explains_nothing(world):
    from agencies.network.services import linkage_request_send
    from tests.support.factories import DepartmentFactory

    elsewhere = Case.objects.create(
        affair=world.affair,
        department=DepartmentFactory(institution=world.mayor),
        reference="R8-X",
        applicant=world.person,
        opened_at=NOW - dt.timedelta(days=9),
    )
    closed = Case.objects.create(
        affair=world.affair,
        department=world.clerk.department,
        reference="R8-Y",
        applicant=world.person,
        opened_at=NOW - dt.timedelta(days=9),
        closed_at=NOW - dt.timedelta(days=1),
    )
    for case, reason in ((elsewhere, "case_other_department"), (closed, "case_closed")):
        outcome = linkage_request_send(
            staff=world.clerk,
            request_id=uuid.uuid4(),
            affair=world.affair,
            item=world.pension_item,
            provider=world.pension,
            case=case,
            addressee_number="000000000012345",
        )
        assert (outcome.request.status, outcome.request.reason) == ("refused", reason)
        assert outcome.request.payload is None
    # Both attempts are on the record, against the resident.
    assert LedgerIntake.objects.filter(event_type="linkage.request").exclude(subject="").count()


def test_3_walking_the_register_leaves_a_trail_every_resident_reads(world):
    home = Household.objects.create(organization=world.city, number="H9", address="札幌")
    world.person.household = home
    world.person.save()
    PersonFactory(household=home)
    client = Client()
    client.force_login(world.clerk.user)
    for number in ("000000000012345", "000000000012346", "000000000012347"):
        client.post(
            "/staff/cases/new/",
            {"affair": world.affair.pk, "reference": "R8-W", "applicant": number},
        )
    # Only one number exists: its two residents were shown, and both were recorded.
    assert LedgerIntake.objects.filter(event_type="person.lookup").count() == 2


def test_4_guessing_a_password_locks_the_login(world):
    world.clerk.user.set_password("the right password 12")
    world.clerk.user.save()
    client = Client()
    username = world.clerk.user.username
    for _ in range(15):
        client.post("/staff/login/", {"username": username, "password": "wrong guess 1234"})
    right = client.post(
        "/staff/login/", {"username": username, "password": "the right password 12"}
    )
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_5_a_deep_json_body_is_refused_not_a_crash(world, api):
    deep = ("[" * 30_000 + "]" * 30_000).encode()
    response = api["mayor"].generic("POST", SEND, deep[:60_000], content_type="application/json")
    assert response.status_code == 400


def test_6_a_typed_my_number_never_reaches_an_error_mail(world, settings, monkeypatch, mailoutbox):
    settings.ADMINS = [("Ops", "ops@example.invalid")]
    number = my_number_for(4242)

    def broken(**kwargs):
        raise RuntimeError(f"records down while looking up {kwargs.get('my_number')}")

    # The typed number goes no further than the look-up in the organisation's own records.
    monkeypatch.setattr(staff_views, "subject_lookup", broken)
    caught = []

    def receiver(sender, **kwargs):
        caught.append(sys.exc_info())

    got_request_exception.connect(receiver)
    client = Client(raise_request_exception=False)
    client.force_login(world.clerk.user)
    response = client.post(
        "/staff/requests/new/",
        {
            "request_id": str(uuid.uuid4()),
            "route": f"{world.affair.pk}:{world.pension_item.pk}:{world.pension.pk}",
            "my_number": number,
        },
    )
    got_request_exception.disconnect(receiver)
    assert response.status_code == 500 and caught
    assert mailoutbox and all(number not in m.subject + m.body for m in mailoutbox)


@override_settings(AGENCY_API_RATE="5/m")
def test_7_a_leaked_key_cannot_flood_the_network(world, api):
    from django.core.cache import caches

    caches["default"].clear()
    statuses = [api["mayor"].post(SEND, body(), format="json").status_code for _ in range(7)]
    assert statuses == [201] * 5 + [429] * 2
    assert LinkageRequest.objects.count() == 5
    caches["default"].clear()


def test_8_a_system_key_alone_cannot_act_as_an_operator(world, api):
    """The system names an operator it holds no credential for: refused, nothing recorded.
    A revoked credential is refused too."""
    from agencies.models import OperatorCredential
    from agencies.services import operator_credential_revoke

    key_only = APIClient()
    key_only.credentials(HTTP_AUTHORIZATION=f"Bearer {api['mayor'].system_key}")
    named = {**body(), "staff": world.clerk.user.username}
    assert key_only.post(SEND, named, format="json").status_code == 400
    forged = APIClient()
    forged.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api['mayor'].system_key}",
        HTTP_X_OPERATOR_CREDENTIAL="yo_" + "A" * 43,
    )
    assert forged.post(SEND, body(), format="json").status_code == 403
    for credential in OperatorCredential.objects.filter(staff=world.clerk):
        operator_credential_revoke(credential=credential)
    assert api["mayor"].post(SEND, body(), format="json").status_code == 403
    assert LinkageRequest.objects.count() == 0


def test_9_a_forged_entry_is_named_exactly(db):
    for n in range(12):
        ledger_append(
            event_type=TEST_EVENT,
            fields={"request_id": str(uuid.UUID(int=n + 1, version=4)), "outcome": "provided"},
        )
    ledger_integrate()
    from audit.ledger import chain_next
    from audit.tlog.hashing import leaf_hash

    forged = 6
    with triggers_disabled(connection):
        entry = LedgerEntry.objects.select_related("intake").get(seq=forged)
        leaf = entry.intake.leaf.replace("provided", "refused")
        LedgerIntake.objects.filter(pk=entry.intake_id).update(leaf=leaf)
        before = bytes(LedgerEntry.objects.get(seq=forged - 1).chain_hash)
        LedgerEntry.objects.filter(seq=forged).update(
            leaf_hash=leaf_hash(leaf.encode()),
            chain_hash=chain_next(before, leaf_hash(leaf.encode())),
        )
    with pytest.raises(CommandError) as failed:
        call_command("audit_verify")
    assert str(failed.value).startswith(f"FAILED: seq {forged}: ")
    assert json.loads(leaf)["outcome"] == "refused"
