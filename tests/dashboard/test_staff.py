"""Staff drill-down: a staff pseudonym's requests over time against their peers (same
department, same affair), and the reveal of who it is: only to a privacy officer of that
member's organisation, after a stated reason; the explanation kept in the database, never in
the ledger."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.utils import timezone

from audit.entries import parse_leaf
from audit.ledger import ledger_append
from audit.models import LedgerIntake
from dashboard.access import require_scope
from dashboard.models import IdentityReveal
from dashboard.selectors import staff_activity
from dashboard.services import privacy_officer_appoint
from tests.dashboard.conftest import client_for, integrate_and_index, views_written
from tests.support.factories import StaffFactory, UserFactory


def _requests(staff, n: int, *, days_ago: int = 0, affair=None, world=None):
    for _ in range(n):
        ledger_append(
            event_type="linkage.request",
            fields={
                "request_id": str(uuid.uuid4()),
                "requester": staff.institution.code,
                "provider": world.pension.code,
                "affair": (affair or world.affair).code,
                "item": world.pension_item.code,
                "staff": staff.audit_pseudonym,
                "outcome": "provided",
                "nondisclosure": False,
            },
            subject="SJ" + "C" * 24,
            moment=timezone.now() - dt.timedelta(days=days_ago),
        )


@pytest.fixture
def office(world):
    """The world's clerk and two peers in the same department; one peer also on school aid."""
    clerk = world.clerk
    peer_a = StaffFactory(
        department=clerk.department,
        affairs=[world.affair],
        user=UserFactory(first_name="花子", last_name="佐藤"),
    )
    peer_b = StaffFactory(department=clerk.department, affairs=[world.affair, world.school])
    _requests(clerk, 9, world=world)
    _requests(clerk, 3, days_ago=1, world=world)
    _requests(clerk, 2, days_ago=1, world=world, affair=world.school)
    _requests(peer_a, 2, world=world)
    _requests(peer_b, 4, world=world)
    _requests(peer_b, 1, days_ago=1, world=world, affair=world.school)
    integrate_and_index()
    return clerk, peer_a, peer_b


def test_requests_over_time_against_the_peers_of_the_department(office, national, world):
    clerk, *_ = office
    today = timezone.localdate()
    activity = staff_activity(require_scope(national), clerk.audit_pseudonym, clerk, today=today)
    assert activity.peer_count == 2
    assert activity.own[-1] == 9 and activity.own[-2] == 5
    assert activity.peer_mean[-1] == pytest.approx(3.0)  # (2 + 4) / 2
    assert activity.peer_mean[-2] == pytest.approx(0.5)
    assert activity.total == 14
    by_affair = {code: (own, mean, peers) for code, own, mean, peers in activity.by_affair}
    assert by_affair[world.affair.code] == (12, pytest.approx(3.0), 2)
    assert by_affair[world.school.code] == (2, pytest.approx(1.0), 1)  # peer_b only
    assert activity.outcomes == {"provided": 14}


def test_the_page_draws_the_comparison_and_names_no_one(clients, office):
    clerk, *_ = office
    page = clients.national.get(f"/audit/staff/{clerk.audit_pseudonym}/?purpose=complaint")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and 'class="series dashed"' in html and "<table" in html
    assert clerk.user.username not in html  # the identity is not on the page
    assert 'id="reveal"' not in html  # a national auditor cannot reveal


def test_a_privacy_officer_of_the_organisation_reveals_with_a_reason(
    clients, office, officer, world
):
    clerk, *_ = office
    base = f"/audit/staff/{clerk.audit_pseudonym}/"
    page = clients.officer.get(f"{base}?purpose=complaint").content.decode()
    assert 'id="reveal"' in page and clerk.user.username not in page
    response = clients.officer.post(
        f"{base}reveal/",
        {
            "reason": "complaint",
            "note": "住民の山田様からの苦情（受付番号 C-12）の調査",
            "purpose": "complaint",
        },
    )
    assert response.status_code == 302
    reveal = IdentityReveal.objects.get()
    assert reveal.note.startswith("住民の山田様") and reveal.staff == clerk
    assert reveal.organization == world.city and reveal.officer == officer
    shown = clients.officer.get(response["Location"]).content.decode()
    assert 'id="revealed"' in shown and clerk.user.username in shown
    [entry] = LedgerIntake.objects.filter(event_type="audit.reveal")
    record = parse_leaf(entry.leaf)
    assert record.fields == {
        "actor": record.fields["actor"],
        "staff": clerk.audit_pseudonym,
        "organization": world.city.code,
        "reason": "complaint",
    }
    assert record.fields["actor"].startswith("AU") and record.subject == ""
    assert "山田" not in entry.leaf and "C-12" not in entry.leaf
    # The look at the page before and after is recorded as well.
    assert len(views_written(view="staff", staff=clerk.audit_pseudonym)) == 2


def test_a_reveal_shows_only_to_its_officer_and_only_for_a_while(clients, office, world):
    clerk, *_ = office
    clients.officer.post(
        f"/audit/staff/{clerk.audit_pseudonym}/reveal/",
        {"reason": "alert", "note": "調査のため", "purpose": "alert"},
    )
    reveal = IdentityReveal.objects.get()
    url = f"/audit/staff/{clerk.audit_pseudonym}/?purpose=alert&reveal={reveal.pk}"
    colleague = UserFactory()
    privacy_officer_appoint(actor=None, user=colleague, organization=world.city)
    assert clerk.user.username not in client_for(colleague).get(url).content.decode()
    assert clerk.user.username in clients.officer.get(url).content.decode()
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        assert clerk.user.username not in clients.officer.get(url).content.decode()


def test_nobody_else_can_reveal(clients, office, national, world):
    clerk, *_ = office
    data = {"reason": "complaint", "note": "理由"}
    url = f"/audit/staff/{clerk.audit_pseudonym}/reveal/"
    assert clients.national.post(url, data).status_code == 403  # national, not the officer
    assert clients.other.post(url, data).status_code == 403  # another organisation's officer
    assert clients.clerk.post(url, data).status_code == 403
    # A reason outside the list, or no explanation, is refused too.
    for bad in ({"reason": "curiosity", "note": "x"}, {"reason": "complaint", "note": " "}):
        assert clients.officer.post(url, bad).status_code == 302
    assert not IdentityReveal.objects.exists()
    assert not LedgerIntake.objects.filter(event_type="audit.reveal").exists()


def test_a_privacy_officer_sees_only_their_organisations_staff(clients, office, world):
    pension_clerk = world.pension_clerk
    assert (
        clients.officer.get(
            f"/audit/staff/{pension_clerk.audit_pseudonym}/?purpose=complaint"
        ).status_code
        == 404
    )
    assert views_written() == []
