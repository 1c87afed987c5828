"""庁内連携 through the agency API (POST /api/agency/internal-transfers): answered from the
institution's own records under its ordinance, refused and recorded outside it, replayed for
the same request id, a 409 for a reused one, and nothing of another institution reachable."""

import datetime as dt
import json
import uuid

import pytest
import time_machine

from agencies.models import LinkageRequest, OrdinanceRule
from agencies.services import case_open
from audit.models import LedgerIntake
from tests.support.capacities import CITY_TAX, RESIDENTS, TAX, WELFARE
from tests.support.world import agency_client

URL = "/api/agency/internal-transfers"
NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def city(sapporo):
    OrdinanceRule.objects.create(
        organization=sapporo["city"],
        affair=sapporo["affairs"][WELFARE],
        item=sapporo["items"][TAX],
        from_affair=sapporo["affairs"][CITY_TAX],
        ordinance="札幌市番号条例 第4条第2項",
        valid_from=dt.date(2017, 11, 13),
    )
    sapporo["client"] = agency_client(sapporo["welfare_clerk"])
    return sapporo


def body(**override):
    return {
        "request_id": str(uuid.uuid4()),
        "affair": WELFARE,
        "item": TAX,
        "from_affair": CITY_TAX,
        "addressee_number": "100000001",
        **override,
    }


def transfers():
    return [
        json.loads(leaf)
        for leaf in LedgerIntake.objects.filter(event_type="internal.transfer")
        .order_by("id")
        .values_list("leaf", flat=True)
    ]


def test_a_transfer_under_the_ordinance_is_answered_and_recorded(city):
    response = city["client"].post(URL, body(terminal="T-01"), format="json")
    assert response.status_code == 201, response.content
    document = response.json()
    assert document["kind"] == "internal" and document["status"] == "provided"
    assert document["provider"] == document["requester"] == city["mayor"].code
    assert document["payload"] == {"課税年度": 2026, "総所得金額": 1_200_000}
    [entry] = transfers()
    assert entry["outcome"] == "provided"
    assert LinkageRequest.objects.get().terminal == "T-01"


def test_outside_the_ordinance_is_refused_with_its_reason_and_recorded(city):
    response = city["client"].post(
        URL, {k: v for k, v in body(item=RESIDENTS).items() if k != "from_affair"}, format="json"
    )
    assert response.status_code == 201
    document = response.json()
    assert document["status"] == "refused" and document["payload"] is None
    assert document["message"]["code"] == "not_in_ordinance"
    assert "条例で定められていません" in document["message"]["ja"]
    assert [e["outcome"] for e in transfers()] == ["refused"]


def test_the_same_request_id_replays_and_a_reused_one_is_a_recorded_409(city):
    first = body()
    assert city["client"].post(URL, first, format="json").status_code == 201
    again = city["client"].post(URL, first, format="json")
    assert again.status_code == 200 and again.json()["status"] == "provided"
    assert len(transfers()) == 1
    reused = city["client"].post(URL, {**first, "item": RESIDENTS}, format="json")
    assert reused.status_code == 409
    assert reused.json()["payload"] is None
    assert LinkageRequest.objects.count() == 1  # the id still names the first transfer
    assert len(transfers()) == 2  # the attempt is on the ledger


def test_a_case_of_the_operators_department_is_named_by_its_reference(city):
    case = case_open(
        staff=city["welfare_clerk"],
        affair=city["affairs"][WELFARE],
        reference="R8-9",
        applicant=city["person"],
        members=[],
    )
    response = city["client"].post(URL, body(case="R8-9"), format="json")
    assert response.status_code == 201
    assert LinkageRequest.objects.get().case == case
    assert response.json()["case"] == "R8-9"


def test_bad_input_is_a_400_that_records_nothing(city):
    client = city["client"]
    for bad in (
        body(case="NO-SUCH-CASE"),
        body(from_affair="JT99999999999999"),
        body(addressee_number="12-34"),
        {k: v for k, v in body().items() if k != "addressee_number"},
    ):
        response = client.post(URL, bad, format="json")
        assert response.status_code == 400, bad
    assert not LinkageRequest.objects.exists() and transfers() == []


def test_a_person_outside_the_citys_records_is_not_found(city):
    response = city["client"].post(URL, body(addressee_number="999999999"), format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "refused"
    assert response.json()["message"]["code"] == "subject_not_found"


def test_another_institutions_operator_cannot_transfer_here(city):
    """The board's operator credential with the mayor's system key is not accepted, and the
    board's own system transfers only inside the board, where no ordinance row applies."""
    board_client = agency_client(city["school_clerk"])
    foreign = agency_client(city["welfare_clerk"])
    foreign.credentials(
        HTTP_AUTHORIZATION=f"Bearer {foreign.system_key}",
        HTTP_X_OPERATOR_CREDENTIAL=board_client._credentials["HTTP_X_OPERATOR_CREDENTIAL"],
    )
    assert foreign.post(URL, body(), format="json").status_code == 403
    response = board_client.post(URL, body(), format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "refused"
    assert response.json()["message"]["code"] == "staff_not_assigned"
    assert response.json()["payload"] is None
