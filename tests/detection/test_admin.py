"""Detection in the admin (until the dashboard): every change goes through the services, so it
is on the ledger; alerts about 不開示 persons only for the national auditors' permission."""

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


def _inlines(alert):
    """The management forms of the read-only inlines, as the page posts them."""
    data = {}
    for prefix, count in (("notes", alert.notes.count()), ("entries", alert.entries.count())):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(count),
                f"{prefix}-INITIAL_FORMS": str(count),
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
        for i, pk in enumerate(
            (alert.notes if prefix == "notes" else alert.entries)
            .order_by("pk")
            .values_list("pk", flat=True)
        ):
            data[f"{prefix}-{i}-id"] = str(pk)
            data[f"{prefix}-{i}-alert"] = str(alert.pk)
    return data


def test_triage_in_the_admin_is_recorded(world, client, auditor):
    request_entry(world, staff=world.clerk, person=PersonFactory())
    scan()
    alert = Alert.objects.get()
    response = client.post(
        f"/admin/detection/alert/{alert.pk}/change/",
        {
            "status": "dismissed",
            "dismiss_reason": "legitimate_business",
            "assignee": "",
            "note": "窓口で確認済み",
            **_inlines(alert),
        },
    )
    assert response.status_code == 302, response.context["errors"]
    alert.refresh_from_db()
    assert alert.status == "dismissed" and alert.notes.get().text == "窓口で確認済み"
    assert LedgerIntake.objects.filter(event_type="detection.alert_triaged").count() == 1


def test_dismissing_without_a_reason_is_refused_in_the_form(world, client, auditor):
    request_entry(world, staff=world.clerk, person=PersonFactory())
    scan()
    alert = Alert.objects.get()
    response = client.post(
        f"/admin/detection/alert/{alert.pk}/change/",
        {"status": "dismissed", "dismiss_reason": "", "assignee": "", **_inlines(alert)},
    )
    assert response.status_code == 200  # the form again, with its error
    alert.refresh_from_db()
    assert alert.status == "new"


def test_rule_settings_and_the_watchlist_in_the_admin_are_recorded(db, client, auditor):
    setting, _ = RuleSetting.objects.get_or_create(code="behaviour.many_staff")
    client.post(
        f"/admin/detection/rulesetting/{setting.pk}/change/",
        {"enabled": "on", "params": '{"min_staff": 6}'},
    )
    setting.refresh_from_db()
    assert setting.params == {"min_staff": 6, "window_minutes": 60}
    person = PersonFactory()
    client.post(
        "/admin/detection/watchlistentry/add/", {"person": person.pk, "reason": "public_figure"}
    )
    assert WatchlistEntry.objects.get().person == person
    kinds = set(LedgerIntake.objects.values_list("event_type", flat=True))
    assert {"detection.rule_changed", "detection.watchlist_added"} <= kinds
