"""庁内連携 on the staff pages: the query form offers the ordinance's routes beside the
network's, through the same confirmation step, and sends them as internal transfers answered
from the institution's own records; a route the ordinance does not allow is never offered,
and a route that stopped applying after the confirmation sends nothing."""

import datetime as dt
import re
import uuid

import pytest
import time_machine
from django.test import Client

from agencies.models import LinkageRequest, LinkageStatus, OrdinanceRule
from audit.models import LedgerIntake
from tests.support.capacities import CITY_TAX, RESIDENTS, TAX, UNEMPLOYMENT, WELFARE

NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)  # Wednesday 10:30 in Tokyo
TOKEN = re.compile(r'name="confirmation" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def ordinance(sapporo):
    """札幌市's ordinance lets 生活保護 use 地方税関係情報 of the 市民税 affair."""
    return OrdinanceRule.objects.create(
        organization=sapporo["city"],
        affair=sapporo["affairs"][WELFARE],
        item=sapporo["items"][TAX],
        from_affair=sapporo["affairs"][CITY_TAX],
        ordinance="札幌市番号条例 第4条第2項",
        valid_from=dt.date(2017, 11, 13),
    )


def clerk_client(sapporo):
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(sapporo["welfare_clerk"].user)
    return client


def internal_key(sapporo, item=TAX, from_affair=CITY_TAX):
    source = sapporo["affairs"][from_affair].pk if from_affair else 0
    return f"i:{sapporo['affairs'][WELFARE].pk}:{sapporo['items'][item].pk}:{source}"


def confirm(client, route):
    page = client.post(
        "/staff/requests/new/",
        {"request_id": str(uuid.uuid4()), "route": route, "addressee_number": "100000001"},
    )
    return page, TOKEN.search(page.content.decode())


def test_the_form_offers_the_ordinance_route_and_the_network_ones(sapporo, ordinance):
    html = clerk_client(sapporo).get("/staff/requests/new/").content.decode()
    assert f'value="{internal_key(sapporo)}"' in html
    assert f"庁内連携：{sapporo['affairs'][CITY_TAX].name}" in html
    # The network's routes are still there (生活保護 -> 厚生労働大臣 for 失業等給付関係情報) ...
    mhlw = sapporo["mhlw"]
    network_key = f"{sapporo['affairs'][WELFARE].pk}:{sapporo['items'][UNEMPLOYMENT].pk}:{mhlw.pk}"
    assert f'value="{network_key}"' in html
    # ... and the city's own tax records are never offered as a network query.
    own = f"{sapporo['affairs'][WELFARE].pk}:{sapporo['items'][TAX].pk}:{sapporo['mayor'].pk}"
    assert f'value="{own}"' not in html


def test_a_use_outside_the_ordinance_is_not_offered_nor_accepted(sapporo, ordinance):
    client = clerk_client(sapporo)
    html = client.get("/staff/requests/new/").content.decode()
    outside = internal_key(sapporo, item=RESIDENTS, from_affair=None)
    assert f'value="{outside}"' not in html
    page, token = confirm(client, outside)
    assert page.status_code == 400 and token is None
    assert not LinkageRequest.objects.exists()


def test_a_confirmed_transfer_is_answered_from_the_citys_own_records(sapporo, ordinance):
    client = clerk_client(sapporo)
    page, token = confirm(client, internal_key(sapporo))
    assert page.status_code == 200 and token is not None
    assert f"庁内連携：{sapporo['affairs'][CITY_TAX].name}" in page.content.decode()
    assert not LinkageRequest.objects.exists()  # nothing is sent before the confirmation
    result = client.post("/staff/requests/send/", {"confirmation": token[1]}, follow=True)
    request = LinkageRequest.objects.get()
    assert (request.kind, request.status) == ("internal", LinkageStatus.PROVIDED)
    assert request.provider == request.requester == sapporo["mayor"]
    assert request.from_affair == sapporo["affairs"][CITY_TAX]
    assert request.payload == {"課税年度": 2026, "総所得金額": 1_200_000}
    assert request.terminal  # the clerk's session, as for a network query
    assert "1200000" in result.content.decode().replace(",", "")
    assert LedgerIntake.objects.filter(event_type="internal.transfer").count() == 1
    # Sending the same confirmation again replays the first transfer: one request, one entry.
    client.post("/staff/requests/send/", {"confirmation": token[1]})
    assert LinkageRequest.objects.count() == 1
    assert LedgerIntake.objects.filter(event_type="internal.transfer").count() == 1


def test_an_ordinance_row_ended_after_the_confirmation_sends_nothing(sapporo, ordinance):
    client = clerk_client(sapporo)
    _page, token = confirm(client, internal_key(sapporo))
    ordinance.valid_to = dt.date(2026, 6, 9)
    ordinance.save()
    response = client.post("/staff/requests/send/", {"confirmation": token[1]})
    assert response.status_code == 302 and response["Location"].endswith("/staff/requests/new/")
    assert not LinkageRequest.objects.exists()
    assert not LedgerIntake.objects.filter(event_type="internal.transfer").exists()
