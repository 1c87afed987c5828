"""Detection in the admin: read-only (the dashboard's pages make the changes), pointing there;
alerts about 不開示 persons only for the national auditors' permission."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from audit.models import LedgerIntake
from detection.models import Alert, RuleSetting, WatchlistEntry
from tests.detection.helpers import ask, request_entry, resident, scan
from tests.support.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def auditor(db, client):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="detection").exclude(
            codename="view_restricted_alert"
        )
    )
    client.force_login(user)
    return user


def test_restricted_alerts_are_hidden_without_the_permission(world, client, auditor):
    victim = resident(world, disclosure_protected=True, protection_reason="DV等支援措置")
    ask(world, world.clerk, victim)
    ask(world, world.clerk, resident(world))
    scan()
    restricted = Alert.objects.get(restricted=True, rule="hard.nondisclosure")
    plain = Alert.objects.get(restricted=False)
    listing = client.get("/admin/detection/alert/").content.decode()
    assert f"/admin/detection/alert/{plain.pk}/change/" in listing
    assert f"/admin/detection/alert/{restricted.pk}/change/" not in listing
    assert client.get(f"/admin/detection/alert/{restricted.pk}/change/").status_code == 302
    auditor.user_permissions.add(Permission.objects.get(codename="view_restricted_alert"))
    assert client.get(f"/admin/detection/alert/{restricted.pk}/change/").status_code == 200


def test_the_admin_changes_no_alert_and_points_to_the_dashboard(world, client, auditor):
    request_entry(world, staff=world.clerk, person=PersonFactory())
    scan()
    alert = Alert.objects.get()
    before = LedgerIntake.objects.count()
    response = client.post(
        f"/admin/detection/alert/{alert.pk}/change/",
        {"status": "dismissed", "dismiss_reason": "legitimate_business", "assignee": ""},
    )
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.status == "new" and not alert.notes.exists()
    assert LedgerIntake.objects.count() == before
    assert client.get(f"/admin/detection/alert/{alert.pk}/change/").status_code == 200
    assert "/audit/alerts/" in client.get("/admin/detection/alert/").content.decode()


def test_rule_settings_and_the_watchlist_are_read_only_in_the_admin(db, client, auditor):
    setting, _ = RuleSetting.objects.get_or_create(code="behaviour.many_staff")
    response = client.post(
        f"/admin/detection/rulesetting/{setting.pk}/change/",
        {"enabled": "on", "params": '{"min_staff": 6}'},
    )
    assert response.status_code == 403
    setting.refresh_from_db()
    assert setting.params != {"min_staff": 6, "window_minutes": 60}
    assert "/audit/alerts/rules/" in client.get("/admin/detection/rulesetting/").content.decode()
    person = PersonFactory()
    response = client.post(
        "/admin/detection/watchlistentry/add/", {"person": person.pk, "reason": "public_figure"}
    )
    assert response.status_code == 403
    assert not WatchlistEntry.objects.exists()
    listing = client.get("/admin/detection/watchlistentry/").content.decode()
    assert "/audit/alerts/watchlist/" in listing
    assert not LedgerIntake.objects.filter(event_type__startswith="detection.").exists()
