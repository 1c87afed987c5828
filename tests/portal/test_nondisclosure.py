"""不開示: entries under a DV support measure (nondisclosure: true) reach the resident and their
proxy through no portal route: not the list of any tab, its counts and filter choices, the CSV,
the print page, a record page, its proof, its receipt, an enquiry; nor a new-record mail. The
page says that some records are disclosed only at the counter, whether or not any exist.
Auditors still find them in the ledger."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.entries import subject_pseudonym
from audit.models import LedgerIntake
from portal.services import proxy_accept, proxy_name
from tests.portal.conftest import hidden_entry, integrate, login
from tests.support.factories import send_request

pytestmark = pytest.mark.django_db

HIDDEN_ITEM = "TM00000000000099"  # an item code that appears only in the hidden entry
HIDDEN_INSTITUTION = "9900990000000001"


@pytest.fixture
def hidden(world, resident):
    send_request(world)  # one ordinary, disclosed record
    entry = hidden_entry(resident.person, item=HIDDEN_ITEM, provider=HIDDEN_INSTITUTION)
    integrate()
    return entry


@pytest.fixture
def proxy_client(world, resident, other_resident):
    named = proxy_name(principal=resident.person, proxy_card_serial=other_resident.card.serial)
    proxy_accept(proxy=other_resident.person, code=named.code)
    client = Client()
    login(client, other_resident.card, other_resident.pin)
    client.post("/portal/act-as/", {"mandate": str(named.mandate.public_id)})
    return client


@pytest.fixture(params=["resident", "proxy"])
def viewer_client(request, resident_client):
    if request.param == "resident":
        return resident_client
    return request.getfixturevalue("proxy_client")


def _assert_not_in(body: bytes, hidden_entry_, route: str = "") -> None:
    # The page's own address (in the language switch, the CSV link) may repeat the query.
    text = body.decode("utf-8-sig").replace(route, "").replace(route.split("?")[-1], "")
    assert HIDDEN_ITEM not in text
    assert HIDDEN_INSTITUTION not in text
    assert f"/records/{hidden_entry_.intake_id}/" not in text


LIST_ROUTES = [
    "/portal/",
    "/portal/?tab=internal",
    "/portal/?tab=account",
    f"/portal/?item={HIDDEN_ITEM}",
    f"/portal/?institution={HIDDEN_INSTITUTION}",
    "/portal/records.csv",
    f"/portal/records.csv?item={HIDDEN_ITEM}",
    "/portal/print/",
    "/portal/enquiries/",
]


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_no_list_route_shows_or_counts_a_hidden_record(viewer_client, hidden, route):
    response = viewer_client.get(route)
    assert response.status_code == 200
    _assert_not_in(response.content, hidden, route)
    if response.context and "counts" in response.context:
        assert response.context["counts"]["exchange"] == 1  # the disclosed one only
        assert "全て" in dict(response.context["form"].fields["item"].choices).values()
        assert HIDDEN_ITEM not in dict(response.context["form"].fields["item"].choices)


@pytest.mark.parametrize("suffix", ["", "proof.json", "receipt"])
def test_no_record_route_serves_a_hidden_record(viewer_client, hidden, suffix):
    assert viewer_client.get(f"/portal/records/{hidden.intake_id}/{suffix}").status_code == 404


def test_an_enquiry_about_a_hidden_record_is_refused(viewer_client, hidden):
    response = viewer_client.post(
        f"/portal/records/{hidden.intake_id}/enquiry", {"question": "これは何ですか"}
    )
    assert response.status_code == 404


def test_the_list_says_some_records_are_disclosed_at_the_counter_whether_or_not_any_are(
    world, resident_client
):
    send_request(world)
    text = resident_client.get("/portal/").content.decode()
    assert "一部の記録は、お住まいの市区町村の窓口でのみ開示できます。" in text


def test_auditors_still_find_the_hidden_entry_in_the_ledger(hidden, resident):
    entry = LedgerIntake.objects.get(pk=hidden.intake_id)
    assert entry.subject == subject_pseudonym(str(resident.person.public_id))
    assert '"nondisclosure":true' in entry.leaf
