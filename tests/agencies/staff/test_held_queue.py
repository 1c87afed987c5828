"""The provider's held queue (保留中の照会): how long each request has waited, about whom, and,
for those who decide, whether it is 不開示; releasing a 不開示 request only after an explicit
confirmation with a reason from the list, which the release's ledger entry records."""

import datetime as dt
import json
import re

import pytest
import time_machine
from django.test import Client

from agencies.models import AddresseeNumber, LinkageRequest, LinkageStatus, StaffRole
from audit.models import LedgerIntake
from tests.support.factories import StaffFactory, send_request

NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)  # Wednesday 10:30 in Tokyo
LATER = NOW + dt.timedelta(days=2, hours=3)


def client_for(staff, language="ja"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(staff.user)
    return client


def protect(person):
    person.disclosure_protected = True
    person.protection_reason = "DV等支援措置"
    person.save()


@pytest.fixture
def held(world):
    """Two requests of the city held at its board of education (副本 answered by hand): one
    about an ordinary resident, one about a resident under a DV support measure (不開示). The
    board's organisation (the city) knows them by its 宛名番号."""
    with time_machine.travel(NOW, tick=False):
        manual = send_request(world, item=world.resident_item, provider=world.board).request
        protect(world.person)
        protected = send_request(world, item=world.resident_item, provider=world.board).request
    assert manual.status == protected.status == LinkageStatus.HELD
    assert protected.nondisclosure and not manual.nondisclosure
    world.manual, world.protected = manual, protected
    return world


def rows(html):
    return {
        request_id: row
        for row in re.findall(r"<tr>.*?</tr>", html, re.S)
        for request_id in re.findall(r"/staff/requests/([0-9a-f-]{36})/", row)
    }


def releases():
    return [
        json.loads(leaf)
        for leaf in LedgerIntake.objects.filter(event_type="linkage.release")
        .order_by("id")
        .values_list("leaf", flat=True)
    ]


def test_the_queue_shows_the_age_the_person_and_the_mark_to_the_operator(held):
    with time_machine.travel(LATER, tick=False):
        html = client_for(held.board_clerk).get("/staff/held/").content.decode()
    found = rows(html)
    manual, protected = found[str(held.manual.request_id)], found[str(held.protected.request_id)]
    for row in (manual, protected):
        assert "2日" in row  # waiting for two days (and three hours)
        assert held.person.full_name in row
        assert "●●●●●●●●●●●2345" in row and "000000000012345" not in row
        assert "札幌市長" in row  # the requester as the official lists name it
    assert '<td class="nondisclosure"><strong>あり</strong></td>' in protected
    assert '<td class="nondisclosure">なし</td>' in manual
    assert "True" not in html and "False" not in html


def test_a_desk_clerk_of_the_provider_is_not_told_who_is_protected(held):
    desk = StaffFactory(department=held.board_clerk.department, role=StaffRole.CLERK)
    client = client_for(desk)
    html = client.get("/staff/held/").content.decode()
    assert str(held.protected.request_id) in html
    assert "不開示" not in html and "あり" not in html
    detail = client.get(f"/staff/requests/{held.protected.request_id}/").content.decode()
    assert "不開示" not in detail
    # The operator who decides is told, on the request's page too.
    operator = client_for(held.board_clerk).get(f"/staff/requests/{held.protected.request_id}/")
    assert "不開示" in operator.content.decode()


def test_a_protected_record_is_not_released_with_one_click(held):
    client = client_for(held.board_clerk)
    url = f"/staff/held/{held.protected.request_id}/release/"
    response = client.post(url)
    assert response["Location"] == f"/staff/held/{held.protected.request_id}/release/confirm/"
    held.protected.refresh_from_db()
    assert held.protected.status == LinkageStatus.HELD
    assert releases() == []
    # The queue offers the confirmation, not a release button, for it; one click for the other.
    html = client.get("/staff/held/").content.decode()
    found = rows(html)
    assert "release/confirm/" in found[str(held.protected.request_id)]
    assert f'action="/staff/held/{held.protected.request_id}/release/"' not in html
    assert f'action="/staff/held/{held.manual.request_id}/release/"' in html


def test_releasing_a_protected_record_needs_the_confirmation_and_a_listed_reason(held):
    client = client_for(held.board_clerk)
    url = f"/staff/held/{held.protected.request_id}/release/confirm/"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert held.person.full_name in html
    assert 'value="subject_own_application"' in html
    assert "照会元に確認し" in html  # the reasons are offered in words, not as codes
    for data in (
        {"decision_reason": "subject_own_application"},  # not confirmed
        {"confirmed": "on"},  # no reason
        {"decision_reason": "because_i_said_so", "confirmed": "on"},  # not on the list
    ):
        refused = client.post(url, data)
        assert refused.status_code == 400
    held.protected.refresh_from_db()
    assert held.protected.status == LinkageStatus.HELD
    assert releases() == []
    done = client.post(url, {"decision_reason": "no_location_information", "confirmed": "on"})
    assert done["Location"] == "/staff/held/"
    held.protected.refresh_from_db()
    assert held.protected.status == LinkageStatus.RELEASED
    [entry] = releases()
    assert entry["decision_reason"] == "no_location_information"
    assert entry["nondisclosure"] is True
    assert entry["related_request_id"] == str(held.protected.request_id)
    assert entry["actor"] == held.board_clerk.audit_pseudonym


def test_an_ordinary_held_request_is_released_with_one_click_and_no_reason(held):
    client_for(held.board_clerk).post(f"/staff/held/{held.manual.request_id}/release/")
    held.manual.refresh_from_db()
    assert held.manual.status == LinkageStatus.RELEASED
    [entry] = releases()
    assert "decision_reason" not in entry


def test_only_the_providers_operators_reach_the_release_confirmation(held):
    url = f"/staff/held/{held.protected.request_id}/release/confirm/"
    data = {"decision_reason": "subject_own_application", "confirmed": "on"}
    desk = StaffFactory(department=held.board_clerk.department, role=StaffRole.CLERK)
    assert client_for(desk).post(url, data)["Location"] == "/staff/held/"
    assert client_for(held.clerk).post(url, data).status_code == 404  # the requester
    assert client_for(held.pension_clerk).get(url).status_code == 404  # another provider
    held.protected.refresh_from_db()
    assert held.protected.status == LinkageStatus.HELD
    assert LinkageRequest.objects.filter(status=LinkageStatus.RELEASED).count() == 0


def test_the_persons_number_is_the_providers_own(held):
    """A provider of another organisation knows the person by its own 宛名番号, or by none."""
    AddresseeNumber.objects.filter(person=held.person).delete()
    html = client_for(held.board_clerk).get("/staff/held/").content.decode()
    assert "●●●●●●●●●●●2345" not in html
    assert held.person.full_name in html


def test_only_the_deciding_providers_operators_are_told_of_the_mark(held):
    from agencies.held import nondisclosure_shown_to

    desk = StaffFactory(department=held.board_clerk.department, role=StaffRole.CLERK)
    supervisor = StaffFactory(department=held.board_clerk.department, role=StaffRole.SUPERVISOR)
    told = {
        name: nondisclosure_shown_to(staff=staff, request=held.protected)
        for name, staff in [
            ("operator", held.board_clerk),
            ("supervisor", supervisor),
            ("desk clerk", desk),
            ("requester", held.clerk),
            ("another provider's operator", held.pension_clerk),
        ]
    }
    assert told == {
        "operator": True,
        "supervisor": True,
        "desk clerk": False,
        "requester": False,
        "another provider's operator": False,
    }
    assert not nondisclosure_shown_to(staff=held.board_clerk, request=held.manual)
