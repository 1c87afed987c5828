"""Staff pages: what they offer, what they send through the network, and who may see what."""

import datetime as dt
import json
import re
import uuid

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from agencies.models import (
    AddresseeNumber,
    Case,
    Household,
    LinkageRequest,
    LinkageStatus,
    StaffRole,
)
from agencies.services import case_open
from audit.models import LedgerIntake
from tests.support.factories import (
    WORLD_ADDRESSEE,
    DepartmentFactory,
    PersonFactory,
    StaffFactory,
    my_number_for,
    send_request,
    transfer_internally,
)

NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)  # Wednesday 10:30 in Tokyo
ADDRESSEE = WORLD_ADDRESSEE


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def client_for(staff, language="ja"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(staff.user)
    return client


CONFIRMATION = re.compile(r'name="confirmation" value="([^"]+)"')


def confirm(client, data):
    """Fill in the query form: the page that comes back shows who will be queried and holds
    the signed confirmation. Returns that page and its token."""
    page = client.post("/staff/requests/new/", data)
    assert page.status_code == 200, page.content.decode()[:3000]
    found = CONFIRMATION.search(page.content.decode())
    assert found is not None
    return page, found[1]


def send_via_form(client, data, **extra):
    """Fill in the query form, then send the query from its confirmation page."""
    _, token = confirm(client, data)
    return client.post("/staff/requests/send/", {"confirmation": token}, **extra)


def offered_routes(html):
    return set(re.findall(r'<option value="(\d+:\d+:\d+)"', html))


def route(w, affair, item, provider):
    return f"{affair.pk}:{item.pk}:{provider.pk}"


def test_pages_need_a_login_and_a_staff_account(world):
    assert Client().get("/staff/")["Location"].startswith("/staff/login/")
    outsider = get_user_model().objects.create_user("outsider", password="x" * 12)
    client = Client()
    client.force_login(outsider)
    response = client.get("/staff/requests/new/")
    assert response.status_code == 403
    assert "職員アカウントではありません" in response.content.decode()


def test_pages_are_japanese_by_default_and_english_on_request(world):
    assert "照会履歴" in client_for(world.clerk).get("/staff/").content.decode()
    english = client_for(world.clerk, "en").get("/staff/").content.decode()
    assert "My queries" in english
    assert "照会履歴" not in english


def test_login_page_logs_staff_in(world):
    world.clerk.user.set_password("correct horse battery")
    world.clerk.user.save()
    client = Client()
    response = client.post(
        "/staff/login/", {"username": world.clerk.user.username, "password": "wrong password"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    response = client.post(
        "/staff/login/",
        {"username": world.clerk.user.username, "password": "correct horse battery"},
    )
    assert response["Location"] == "/staff/"


def test_query_form_offers_only_permitted_routes_for_assigned_affairs(world):
    html = client_for(world.clerk).get("/staff/requests/new/").content.decode()
    assert offered_routes(html) == {
        route(world, world.affair, world.pension_item, world.pension),
        route(world, world.affair, world.resident_item, world.board),
        # school/tax from any mayor's office but the requester's own (that would be 庁内連携)
        route(world, world.school, world.tax, world.neighbour),
    }
    # Not offered: the 2019-expired tax rule, the unnotified affair, and school/tax from the
    # requester itself (the gate would refuse it: provider_is_requester).


def test_query_form_sends_through_the_network_and_shows_the_answer(world):
    client = client_for(world.clerk)
    request_id = uuid.uuid4()
    form = {
        "request_id": str(request_id),
        "route": route(world, world.affair, world.pension_item, world.pension),
        "addressee_number": ADDRESSEE,
    }
    _, token = confirm(client, form)
    response = client.post("/staff/requests/send/", {"confirmation": token})
    assert response["Location"] == f"/staff/requests/{request_id}/"
    sent = LinkageRequest.objects.get(request_id=request_id)
    assert sent.status == LinkageStatus.PROVIDED
    assert sent.terminal.startswith("WEB-")
    # The look at the person on the confirmation page, then the request.
    assert list(LedgerIntake.objects.values_list("event_type", flat=True).order_by("id")) == [
        "person.lookup",
        "linkage.request",
    ]
    page = client.get(response["Location"]).content.decode()
    assert "老齢基礎年金" in page
    assert "提供済み" in page
    # Sending the confirmation twice (a double click) gives the first outcome, no new entry.
    again = client.post("/staff/requests/send/", {"confirmation": token})
    assert again["Location"] == response["Location"]
    assert LedgerIntake.objects.count() == 2


def test_a_reused_request_id_is_shown_as_the_networks_refusal(world):
    first = send_request(world)
    client = client_for(world.clerk)
    response = send_via_form(
        client,
        {
            "request_id": str(first.request.request_id),
            "route": route(world, world.affair, world.resident_item, world.board),
            "addressee_number": ADDRESSEE,
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/staff/requests/new/"
    page = response.content.decode()
    assert f"照会番号「{first.request.request_id}」は別の照会で使用済みです。" in page
    # The refusal is recorded (after the look-up); the form again is a new request id.
    assert LedgerIntake.objects.count() == 3
    assert f'value="{first.request.request_id}"' not in page


def test_a_forged_route_is_refused_by_the_form_and_nothing_is_written(world):
    client = client_for(world.clerk)
    for forged in (
        route(world, world.affair, world.tax, world.pension),  # rule expired in 2019
        route(world, world.unnotified, world.pension_item, world.pension),  # not notified
        "x:y:z",
    ):
        response = client.post(
            "/staff/requests/new/",
            {"request_id": str(uuid.uuid4()), "route": forged, "addressee_number": ADDRESSEE},
        )
        assert response.status_code == 400
        assert "route" in response.context["form"].errors
    assert not LinkageRequest.objects.exists()
    assert not LedgerIntake.objects.exists()


def test_my_number_is_never_rendered_back(world):
    number = my_number_for(1)
    client = client_for(world.clerk, "en")
    bad = client.post(
        "/staff/requests/new/",
        {
            "request_id": str(uuid.uuid4()),
            "route": route(world, world.affair, world.pension_item, world.pension),
            "my_number": number[:-1] + str((int(number[-1]) + 1) % 10),
        },
    )
    assert bad.status_code == 400
    assert "not a valid My Number" in bad.content.decode()
    assert number[:-1] not in bad.content.decode()
    form = {
        "request_id": str(uuid.uuid4()),
        "route": route(world, world.affair, world.pension_item, world.pension),
        "my_number": number,
    }
    confirmation, _ = confirm(client, form)
    assert number not in confirmation.content.decode()
    good = send_via_form(client, form, follow=True)
    assert LinkageRequest.objects.get().subject == world.person
    assert number not in good.content.decode()
    assert number not in good.redirect_chain[0][0]


def test_the_subject_must_be_named_exactly_once(world):
    response = client_for(world.clerk).post(
        "/staff/requests/new/",
        {
            "request_id": str(uuid.uuid4()),
            "route": route(world, world.affair, world.pension_item, world.pension),
        },
    )
    assert response.status_code == 400
    assert not LinkageRequest.objects.exists()


def test_open_a_case_with_the_household_then_query_a_member(world):
    household = Household.objects.create(
        organization=world.city, number="H1", address="札幌市中央区北1条西2丁目"
    )
    world.person.household, world.person.relationship = household, "世帯主"
    world.person.save()
    child = PersonFactory(household=household, relationship="子")
    lodger = PersonFactory(household=household, relationship="同居人")
    AddresseeNumber.objects.create(organization=world.city, person=child, number="7")
    client = client_for(world.clerk)
    step1 = {"affair": world.affair.pk, "reference": "R8-0001", "applicant": ADDRESSEE}
    assert "lodger" not in client.get("/staff/cases/new/").content.decode()
    assert not LedgerIntake.objects.exists()  # nothing shown yet, nothing looked at
    page = client.post("/staff/cases/new/", step1)
    assert page.status_code == 200
    assert child.full_name in page.content.decode()
    # Everyone shown was looked at, by this clerk, for this affair: the residents see it.
    looks = LedgerIntake.objects.filter(event_type="person.lookup")
    assert looks.count() == 3
    assert {json.loads(leaf)["staff"] for leaf in looks.values_list("leaf", flat=True)} == {
        world.clerk.audit_pseudonym
    }
    done = client.post("/staff/cases/new/", {**step1, "members_step": "1", "members": [child.pk]})
    case = Case.objects.get(reference="R8-0001")
    assert done["Location"] == f"/staff/cases/{case.pk}/"
    assert set(case.members.all()) == {world.person, child}
    assert lodger not in case.members.all()
    # From the case page, the form is bound to the case and offers its members.
    form = client.get(f"/staff/requests/new/?case={case.pk}&member=7").content.decode()
    assert offered_routes(form) == {
        route(world, world.affair, world.pension_item, world.pension),
        route(world, world.affair, world.resident_item, world.board),
    }
    assert 'value="7" selected' in form
    send_via_form(
        client,
        {
            "request_id": str(uuid.uuid4()),
            "case": case.pk,
            "member": "7",
            "route": route(world, world.affair, world.pension_item, world.pension),
        },
    )
    sent = LinkageRequest.objects.get()
    assert (sent.case, sent.subject) == (case, child)


def test_case_opening_errors_are_shown_and_nothing_is_created(world):
    client = client_for(world.clerk, "en")
    unknown = client.post(
        "/staff/cases/new/",
        {"affair": world.affair.pk, "reference": "R8-2", "applicant": "999"},
    )
    assert unknown.status_code == 400
    assert "No resident of your organisation" in unknown.content.decode()
    not_mine = client.post(
        "/staff/cases/new/",
        {"affair": world.affair.pk + 1000, "reference": "R8-2", "applicant": ADDRESSEE},
    )
    assert not_mine.status_code == 400
    assert not Case.objects.exists()


def test_another_department_cannot_see_or_close_a_case_or_its_requests(world):
    case = case_open(
        staff=world.clerk,
        affair=world.affair,
        reference="R8-0002",
        applicant=world.person,
        members=[],
    )
    world.clerk.user.username = "mayor-office.clerk"
    world.clerk.user.save()
    outcome = send_request(world, case=case)
    neighbour = StaffFactory(
        department=DepartmentFactory(institution=world.mayor), affairs=[world.affair]
    )
    client = client_for(neighbour)
    assert client.get(f"/staff/cases/{case.pk}/").status_code == 404
    assert client.post(f"/staff/cases/{case.pk}/close/").status_code == 404
    assert client.get(f"/staff/requests/new/?case={case.pk}").status_code == 404
    assert client.get(f"/staff/requests/{outcome.request.request_id}/").status_code == 404
    case.refresh_from_db()
    assert case.closed_at is None
    # The provider sees the request it answered, without the answer.
    provider_page = client_for(world.pension_clerk).get(
        f"/staff/requests/{outcome.request.request_id}/"
    )
    assert provider_page.status_code == 200
    # Neither the answer nor the requester's file reference or operator reach the provider.
    assert "老齢基礎年金" not in provider_page.content.decode()
    assert "R8-0002" not in provider_page.content.decode()
    assert "mayor-office.clerk" not in provider_page.content.decode()
    own_page = client_for(world.clerk).get(f"/staff/requests/{outcome.request.request_id}/")
    assert "R8-0002" in own_page.content.decode()
    # The department itself can close it.
    own = client_for(world.clerk)
    assert own.post(f"/staff/cases/{case.pk}/close/").status_code == 302
    case.refresh_from_db()
    assert case.closed_at is not None


def test_held_queue_is_answered_by_the_provider_operator_only(world):
    outcome = send_request(world, item=world.resident_item, provider=world.board)
    request_id = outcome.request.request_id
    assert outcome.request.status == LinkageStatus.HELD
    release_url = f"/staff/held/{request_id}/release/"
    # The requester's side cannot answer its own request.
    assert client_for(world.clerk).post(release_url).status_code == 404
    # A plain clerk of the provider sees the queue but may not answer.
    desk = StaffFactory(department=world.board_clerk.department, role=StaffRole.CLERK)
    desk_client = client_for(desk)
    queue = desk_client.get("/staff/held/").content.decode()
    assert str(request_id) in queue
    assert release_url not in queue
    desk_client.post(release_url)
    outcome.request.refresh_from_db()
    assert outcome.request.status == LinkageStatus.HELD
    # The operator releases it; the requester then sees the answer.
    operator = client_for(world.board_clerk)
    assert release_url in operator.get("/staff/held/").content.decode()
    assert operator.post(release_url)["Location"] == "/staff/held/"
    outcome.request.refresh_from_db()
    assert outcome.request.status == LinkageStatus.RELEASED
    assert outcome.request.answered_by == world.board_clerk
    assert LedgerIntake.objects.count() == 2
    answer = client_for(world.clerk).get(f"/staff/requests/{request_id}/").content.decode()
    assert "世帯員数" in answer


def test_refusal_message_is_shown_in_the_network_style(world):
    world.clerk.assigned_affairs.remove(world.school)
    outcome = send_request(world, affair=world.school, item=world.tax)
    url = f"/staff/requests/{outcome.request.request_id}/"
    ja = client_for(world.clerk).get(url).content.decode()
    assert "職員は事務手続「JT02020000000001」の担当として登録されていません。" in ja
    en = client_for(world.clerk, "en").get(url).content.decode()
    assert "The staff member is not assigned to affair JT02020000000001." in en


def test_an_internal_transfer_is_shown_as_such_with_its_providing_affair(world):
    """庁内連携 rows name the affair the data came from, not the clerk's own institution as
    if it had been asked over the network."""
    outcome = transfer_internally(world, affair=world.affair, from_affair=world.school)
    client = client_for(world.clerk)
    row = next(
        r
        for r in re.findall(r"<tr>.*?</tr>", client.get("/staff/").content.decode(), re.S)
        if str(outcome.request.request_id) in r
    )
    assert f"庁内連携：{world.school.name}" in row
    assert str(world.mayor) not in row
    detail = client.get(f"/staff/requests/{outcome.request.request_id}/").content.decode()
    assert "移転元の事務" in detail
    assert world.school.code in detail
    english = client_for(world.clerk, "en").get(f"/staff/requests/{outcome.request.request_id}/")
    assert "Providing affair" in english.content.decode()
