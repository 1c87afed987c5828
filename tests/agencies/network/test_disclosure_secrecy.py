"""Whether a subject is 不開示 (a DV support measure) is told to nobody but the provider deciding
a held request (and the auditors, through the ledger); whether a My Number exists is not told
to a requester outside its own records.

Each test asks as an attacker holding a requester's agency key would: it compares what the API
answers about a protected person with what it answers about an unprotected one in the same
situation. The documents must be equal, field for field, but for ids and times.
"""

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client

from agencies.models import AddresseeNumber, LinkageRequest, ProvisionCopy
from audit.models import LedgerIntake
from tests.support.factories import (
    DepartmentFactory,
    PersonFactory,
    StaffFactory,
    issue_token,
    my_number_for,
    withdraw_token,
)
from tests.support.factories import request_body as body
from tests.support.world import agency_client

NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)  # a Wednesday morning in Tokyo
VOLATILE = ("request_id", "requested_at", "answered_at")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def protect(person):
    person.disclosure_protected = True
    person.protection_reason = "DV等支援措置"
    person.save()


def stable(document):
    return {key: value for key, value in document.items() if key not in VOLATILE}


def send(api, **overrides):
    response = api["mayor"].post("/api/agency/requests", body(**overrides), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def decide(api, request_id, verb):
    # Releasing a 不開示 request needs a reason from the list; any release may name one.
    data = {"decision_reason": "subject_own_application"} if verb == "release" else {}
    response = api["board"].post(f"/api/agency/held/{request_id}/{verb}", data, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def requester_reads(api, request_id):
    response = api["mayor"].get(f"/api/agency/requests/{request_id}")
    assert response.status_code == 200
    return response.json()


def no_board_copy(world):
    ProvisionCopy.objects.filter(institution=world.board).delete()


def no_pension_copy(world):
    ProvisionCopy.objects.filter(institution=world.pension).delete()


def no_requester_token(world):
    withdraw_token(world.mayor, world.person)


# (setup of the world, overrides of the request body): one row per outcome the requester sees.
SCENARIOS = {
    "held for a manual answer": (
        None,
        {"item": "TM00000000000004", "provider": "0110020000000002"},
    ),
    "not found": (no_board_copy, {"item": "TM00000000000004", "provider": "0110020000000002"}),
    "not found at the pension service": (no_pension_copy, {}),
    "refused: rule not valid on the date": (None, {"item": "TM00000000000003"}),
    "refused: consent missing": (
        None,
        {"affair": "JT02020000000001", "item": "TM00000000000003", "provider": "0120250000000001"},
    ),
    "refused: no 符号": (no_requester_token, {}),
    "refused: own institution": (None, {"provider": "0110020000000001"}),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_requester_cannot_tell_a_protected_subject_from_another(world, api, scenario):
    setup, overrides = SCENARIOS[scenario]
    if setup is not None:
        setup(world)
    plain = send(api, **overrides)
    protect(world.person)
    protected = send(api, **overrides)
    assert stable(protected) == stable(plain)
    for document in (plain, protected):
        assert "nondisclosure" not in document
        assert "不開示" not in json.dumps(document, ensure_ascii=False)
        assert requester_reads(api, document["request_id"]) == document
    # The ledger, which the auditors read, still says which one was protected.
    leaves = (
        LedgerIntake.objects.filter(event_type="linkage.request")
        .order_by("id")
        .values_list("leaf", flat=True)
    )
    marks = [json.loads(leaf)["nondisclosure"] for leaf in leaves]
    assert marks == [False, True]


def test_a_protected_subject_held_at_a_provider_looks_like_any_manual_answer(world, api):
    """The pension service answers an ordinary person at once; it holds a protected one. The
    requester sees the same hold, with the same reason, as for a copy answered by hand."""
    manual = send(api, item="TM00000000000004", provider="0110020000000002")
    protect(world.person)
    held = send(api)
    assert held["status"] == manual["status"] == "held"
    assert held["message"] == manual["message"]
    assert held["message"]["code"] == "held"
    assert {"nondisclosure", "manual_answer"}.isdisjoint(
        json.dumps([held, manual], ensure_ascii=False).split('"')
    )


@pytest.mark.parametrize("verb", ["release", "decline"])
def test_the_decision_on_a_held_request_tells_the_requester_nothing_more(world, api, verb):
    manual = send(api, item="TM00000000000004", provider="0110020000000002")
    decide(api, manual["request_id"], verb)
    protect(world.person)
    held = send(api, item="TM00000000000004", provider="0110020000000002")
    decided = decide(api, held["request_id"], verb)
    # The provider deciding sees the mark; the requester reading the outcome does not.
    assert decided["nondisclosure"] is True
    assert stable(requester_reads(api, held["request_id"])) == stable(
        requester_reads(api, manual["request_id"])
    )
    assert "nondisclosure" not in requester_reads(api, held["request_id"])


def test_only_the_provider_deciding_sees_the_mark(world, api):
    protect(world.person)
    held = send(api, item="TM00000000000004", provider="0110020000000002")
    listing = api["board"].get("/api/agency/held").json()
    assert [(r["request_id"], r["nondisclosure"], r["message"]["code"]) for r in listing] == [
        (held["request_id"], True, "nondisclosure")
    ]
    # A provider that answered automatically (here: 該当なし) decides nothing and is told nothing.
    no_pension_copy(world)
    not_found = send(api)
    provider_view = api["pension"].get(f"/api/agency/requests/{not_found['request_id']}").json()
    assert provider_view["status"] == "not_found"
    assert "nondisclosure" not in provider_view


def test_the_requesting_clerks_page_does_not_say_why_a_request_is_held(world, api):
    protect(world.person)
    held = send(api, item="TM00000000000004", provider="0110020000000002")
    for language in ("ja", "en"):
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(world.clerk.user)
        page = client.get(f"/staff/requests/{held['request_id']}/").content.decode()
        assert "held" in page and "nondisclosure" not in page
        assert "不開示" not in page and "protected from disclosure" not in page
    provider = Client(HTTP_ACCEPT_LANGUAGE="en")
    provider.force_login(world.board_clerk.user)
    page = provider.get(f"/staff/requests/{held['request_id']}/").content.decode()
    assert "The record is protected from disclosure" in page


def test_a_my_number_outside_the_requesters_records_is_not_found_like_one_nobody_holds(world, api):
    """A My Number resolves country-wide through the blind index. A person known only to the
    neighbouring city (its 宛名番号 and 符号) must look, to this city, exactly like a number
    that nobody holds, or any agency key could test numbers for existence."""
    elsewhere = PersonFactory(my_number=my_number_for(7001))
    AddresseeNumber.objects.create(
        organization=world.neighbour.organization, person=elsewhere, number="000000000000777"
    )
    issue_token(world.neighbour, elsewhere)
    issue_token(world.pension, elsewhere)
    nobody = send(api, addressee_number=None, my_number=my_number_for(7002))
    known_elsewhere = send(api, addressee_number=None, my_number=my_number_for(7001))
    assert stable(known_elsewhere) == stable(nobody)
    assert nobody["message"]["code"] == "subject_not_found"
    # The attempt is still recorded against the person the number names: the resident sees it.
    attempt = LinkageRequest.objects.get(request_id=known_elsewhere["request_id"])
    assert attempt.subject == elsewhere
    # A number in the city's own records is found as before.
    own = send(api, addressee_number=None, my_number=my_number_for(1))
    assert own["status"] == "provided"


def test_a_my_number_the_requester_holds_a_token_for_is_its_own_record(world, api):
    """A national body has no 宛名番号: its own records are the persons it holds a 符号 for."""
    neighbour_clerk = StaffFactory(
        department=DepartmentFactory(institution=world.neighbour), affairs=[world.affair]
    )
    client = agency_client(neighbour_clerk)
    data = body(addressee_number=None, my_number=my_number_for(1))
    response = client.post("/api/agency/requests", data, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "provided"
