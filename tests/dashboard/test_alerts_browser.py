"""The alert queue in Debian's chromium (Playwright, a live server): a national auditor triages
an alert (queue, the purpose asked, the alert, assign, a note, dismissed with a reason), every
step on the ledger; axe-core and no CSP violation on every alert page, for a national auditor
and a privacy officer."""

from __future__ import annotations

import pytest
import time_machine

from audit.entries import parse_leaf
from audit.models import LedgerIntake
from detection.models import Alert
from tests.dashboard.test_alerts import make_alerts
from tests.dashboard.test_browser import browser, check, log_in, new_page, page, shot  # noqa: F401
from tests.detection.helpers import OFFICE

pytestmark = pytest.mark.browser


@pytest.fixture
def alerts(world):
    # Made at OFFICE by the scanner; the pages are then browsed on the real clock.
    with time_machine.travel(OFFICE, tick=False):
        return make_alerts(world)


def test_an_auditor_triages_an_alert(live_server, page, alerts, national):  # noqa: F811
    base = live_server.url
    log_in(page, base, national)
    assert page.inner_text("#tile-alerts .tile-value") == "4"
    page.click("header nav >> text=警報")
    page.wait_for_selector(f'tr[data-alert="{alerts.city.pk}"]')
    check(page)
    shot(page, "audit-alerts")
    page.click(f'tr[data-alert="{alerts.city.pk}"] a')
    # The alert's entries are about a person: the purpose first, "an alert" offered.
    page.wait_for_selector("#id_purpose")
    assert page.input_value("#id_purpose") == "alert"
    check(page)
    page.click("button.primary")
    page.wait_for_selector("#triage-status")
    check(page)
    assert "explain.no_case" in page.inner_text("dl.summary")
    page.select_option("#id_assignee", str(national.pk))
    page.click("#assign-submit")
    page.wait_for_selector("ul.messages")
    assert national.username in page.inner_text("#alert-assignee")
    page.fill("#id_text", "担当課に案件の有無を確認する。")
    page.click("#note-submit")
    page.wait_for_selector("text=担当課に案件の有無を確認する。")
    page.select_option("#id_status", "dismissed")
    page.select_option("#id_reason", "legitimate_business")
    page.click("#status-submit")
    page.wait_for_selector("#alert-status .status.dismissed")
    check(page)
    shot(page, "audit-alert")
    alert = Alert.objects.get(pk=alerts.city.pk)
    assert (alert.status, alert.dismiss_reason, alert.assignee) == (
        "dismissed",
        "legitimate_business",
        national,
    )
    steps = [
        parse_leaf(leaf).fields
        for leaf in LedgerIntake.objects.filter(event_type="detection.alert_triaged")
        .order_by("id")
        .values_list("leaf", flat=True)
    ]
    assert [(s["status"], s.get("assigned"), s.get("reason")) for s in steps] == [
        ("new", True, None),
        ("dismissed", None, "legitimate_business"),
    ]
    # Each opening of the page was a recorded look at the person of its entry.
    assert LedgerIntake.objects.filter(event_type="audit.view").count() == 4


def test_every_alert_page_is_accessible(live_server, browser, alerts, national, officer):  # noqa: F811
    base = live_server.url
    for user, pages in (
        (
            national,
            [
                "/audit/",
                "/audit/alerts/",
                "/audit/alerts/?status=new&severity=high",
                f"/audit/alerts/{alerts.restricted.pk}/",
                f"/audit/alerts/{alerts.restricted.pk}/?purpose=alert",
                "/audit/alerts/rules/",
                "/audit/alerts/watchlist/",
                "/audit/charts/",
                f"/audit/staff/{alerts.city.staff_pseudonym}/?purpose=alert",
            ],
        ),
        (
            officer,
            [
                "/audit/alerts/",
                f"/audit/alerts/{alerts.city.pk}/?purpose=alert",
                "/audit/charts/",
            ],
        ),
    ):
        tab = new_page(browser)
        log_in(tab, base, user)
        for path in pages:
            tab.goto(f"{base}{path}")
            tab.wait_for_selector("#log-watch[data-done='1']")
            check(tab)
        tab.context.close()
    # A form error is announced and accessible too.
    tab = new_page(browser)
    log_in(tab, base, national)
    tab.goto(f"{base}/audit/alerts/watchlist/")
    tab.fill("#id_subject", "SJ" + "A" * 24)
    tab.select_option("#id_reason", "other")
    tab.click("#watch-add button.primary")
    tab.wait_for_selector("#watch-add .errors")
    check(tab)
    shot(tab, "audit-watchlist")
    tab.context.close()
