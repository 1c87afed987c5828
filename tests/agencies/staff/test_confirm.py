"""The staff pages' safeguards against querying the wrong person: the form shows who will be
queried and sends nothing; only the confirmation page's signed token sends; a number outside
the organisation's records is a form error, never a network request; the result names the
person queried."""

import datetime as dt
import json
import re
import uuid

import pytest
import time_machine
from django.core import signing
from django.test import Client

from agencies.models import AddresseeNumber, Household, LinkageRequest, LinkageStatus
from agencies.services import case_open
from audit.models import LedgerIntake
from tests.support.factories import (
    WORLD_ADDRESSEE,
    PersonFactory,
    StaffFactory,
    my_number_for,
)

NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)  # Wednesday 10:30 in Tokyo
TOKEN = re.compile(r'name="confirmation" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def client_for(staff, language="ja"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(staff.user)
    return client


def pension_route(world):
    return f"{world.affair.pk}:{world.pension_item.pk}:{world.pension.pk}"


def form(world, **subject):
    return {"request_id": str(uuid.uuid4()), "route": pension_route(world), **subject}


def token_of(page):
    found = TOKEN.search(page.content.decode())
    assert found is not None, page.content.decode()[:2000]
    return found[1]


def events():
    return list(LedgerIntake.objects.order_by("id").values_list("event_type", flat=True))


@pytest.fixture
def family(world):
    """The applicant (the world's person), his wife and their child in one household, and a
    case of the 児童手当 affair concerning all three."""
    household = Household.objects.create(organization=world.city, number="H1", address="札幌市")
    world.person.household, world.person.relationship = household, "世帯主"
    world.person.given_name = "太郎"
    world.person.save()
    wife = PersonFactory(
        household=household,
        relationship="妻",
        given_name="花子",
        date_of_birth=dt.date(1989, 1, 8),
        my_number=my_number_for(20),
    )
    AddresseeNumber.objects.create(organization=world.city, person=wife, number="000000000022222")
    world.case = case_open(
        staff=world.clerk,
        affair=world.affair,
        reference="R8-0100",
        applicant=world.person,
        members=[(wife, "妻")],
    )
    world.wife = wife
    return world


def test_the_form_shows_who_will_be_queried_and_sends_nothing(world):
    client = client_for(world.clerk)
    page = client.post("/staff/requests/new/", form(world, my_number=my_number_for(1)))
    assert page.status_code == 200
    html = page.content.decode()
    assert world.person.full_name in html
    assert "昭和55年4月1日" in html  # born 1980-04-01, as a 住民票 writes it
    assert "●●●●●●●●●●●2345" in html and WORLD_ADDRESSEE not in html
    assert "案件なし" in html
    assert my_number_for(1) not in html
    # Nothing went to the network; the look at the person is recorded.
    assert not LinkageRequest.objects.exists()
    assert events() == ["person.lookup"]
    [leaf] = LedgerIntake.objects.values_list("leaf", flat=True)
    assert json.loads(leaf)["purpose"] == "query_confirm"
    # Only now does the confirmation send, and the result names the person queried.
    sent = client.post("/staff/requests/send/", {"confirmation": token_of(page)}, follow=True)
    request = LinkageRequest.objects.get()
    assert (request.subject, request.status) == (world.person, LinkageStatus.PROVIDED)
    result = sent.content.decode()
    assert world.person.full_name in result and "●●●●●●●●●●●2345" in result


def test_the_wifes_number_typed_for_the_applicant_shows_whose_it_is(family):
    w = family
    client = client_for(w.clerk)
    page = client.post(
        "/staff/requests/new/",
        form(w, case=w.case.pk, my_number=my_number_for(20)),
    )
    html = page.content.decode()
    assert "山田 花子" in html
    assert "平成元年1月8日" in html
    assert "申請者の世帯員（妻）" in html
    assert "申請者本人ではありません" in html  # the warning
    assert not LinkageRequest.objects.exists()
    # The applicant's own number shows him as the applicant, without the warning.
    page = client.post(
        "/staff/requests/new/",
        form(w, case=w.case.pk, my_number=my_number_for(1)),
    )
    html = page.content.decode()
    assert "申請者本人" in html and "申請者本人ではありません" not in html
    relations = [
        json.loads(leaf)["relation"]
        for leaf in LedgerIntake.objects.filter(event_type="person.lookup")
        .order_by("id")
        .values_list("leaf", flat=True)
    ]
    assert relations == ["household", "applicant"]


def test_a_number_outside_the_organisations_records_is_a_form_error_not_a_request(world):
    elsewhere = PersonFactory(my_number=my_number_for(7001))
    AddresseeNumber.objects.create(
        organization=world.neighbour.organization, person=elsewhere, number="000000000000777"
    )
    client = client_for(world.clerk, "en")
    for number in (my_number_for(7001), my_number_for(7002)):
        page = client.post("/staff/requests/new/", form(world, my_number=number))
        assert page.status_code == 400
        assert "No resident of your organisation has this number." in page.content.decode()
        assert number not in page.content.decode()
    assert not LinkageRequest.objects.exists()
    assert events() == ["person.lookup", "person.lookup"]
    for leaf in LedgerIntake.objects.values_list("leaf", flat=True):
        entry = json.loads(leaf)
        assert "subject" not in entry
        assert (entry["purpose"], entry["relation"]) == ("my_number_resolution", "none")
    unknown = client.post("/staff/requests/new/", form(world, addressee_number="999"))
    assert unknown.status_code == 400
    assert not LinkageRequest.objects.exists()


def test_a_person_the_case_does_not_concern_is_a_form_error(family):
    w = family
    stranger = PersonFactory(my_number=my_number_for(50))
    AddresseeNumber.objects.create(organization=w.city, person=stranger, number="000000000055555")
    page = client_for(w.clerk, "en").post(
        "/staff/requests/new/", form(w, case=w.case.pk, my_number=my_number_for(50))
    )
    assert page.status_code == 400
    assert "not one this case concerns" in page.content.decode()
    assert stranger.full_name not in page.content.decode()
    assert not LinkageRequest.objects.exists()


def test_a_hand_made_post_that_skips_the_confirmation_sends_nothing(world):
    from agencies.staff.confirm import SALT

    client = client_for(world.clerk)
    # The old form's POST, marked as if confirmed: it only gets the confirmation page.
    skipped = client.post(
        "/staff/requests/new/", {**form(world, addressee_number=WORLD_ADDRESSEE), "confirm": "1"}
    )
    assert skipped.status_code == 200
    assert not LinkageRequest.objects.exists()
    good = token_of(skipped)
    payload = signing.loads(good, salt=SALT)
    forged_route = signing.dumps(
        {**payload, "route": f"{world.affair.pk}:{world.resident_item.pk}:{world.board.pk}"},
        salt="another salt",
        compress=True,
    )
    before = LedgerIntake.objects.count()
    for token in ("", "x", good[:-2] + "AA", forged_route):
        response = client.post("/staff/requests/send/", {"confirmation": token}, follow=True)
        assert response.redirect_chain[-1][0] == "/staff/requests/new/"
        assert "何も送信していません" in response.content.decode()
    # A confirmation is this staff member's and this session's, and only for ten minutes.
    other_clerk = StaffFactory(department=world.clerk.department, affairs=[world.affair])
    other_session = client_for(world.clerk)
    for stranger in (client_for(other_clerk), other_session):
        stranger.post("/staff/requests/send/", {"confirmation": good})
    with time_machine.travel(NOW + dt.timedelta(minutes=11), tick=False):
        client.post("/staff/requests/send/", {"confirmation": good})
    assert not LinkageRequest.objects.exists()
    assert LedgerIntake.objects.count() == before
    # The genuine confirmation, in time, from the same session, sends.
    client.post("/staff/requests/send/", {"confirmation": good})
    assert LinkageRequest.objects.get().subject == world.person


def test_the_confirmation_carries_no_number_typed(world):
    from agencies.staff.confirm import SALT

    page = client_for(world.clerk).post(
        "/staff/requests/new/", form(world, my_number=my_number_for(1))
    )
    payload = signing.loads(token_of(page), salt=SALT)
    assert set(payload) == {"staff", "terminal", "request_id", "route", "case", "person"}
    assert my_number_for(1) not in json.dumps(payload)
    assert WORLD_ADDRESSEE not in json.dumps(payload)


def test_a_confirmation_no_longer_permitted_sends_nothing(world):
    client = client_for(world.clerk)
    page = client.post("/staff/requests/new/", form(world, addressee_number=WORLD_ADDRESSEE))
    world.clerk.assigned_affairs.remove(world.affair)
    client.post("/staff/requests/send/", {"confirmation": token_of(page)})
    assert not LinkageRequest.objects.exists()
