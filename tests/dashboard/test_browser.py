"""The auditors' dashboard in Debian's chromium (Playwright, a live server): an enquiry's answer
reaching the resident's portal, the integrity panel turning red on a tampered copy of the log
(and its progress bar following a run), a privacy officer's reveal, the in-browser check of an
entry's inclusion proof; axe-core on every page, no CSP violation; screenshots for the README
(SCREENSHOTS=1 writes them to docs/screenshots/)."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit.db_guards import triggers_disabled
from audit.ledger import ledger_append
from audit.models import LedgerEntry, LedgerIntake
from dashboard.models import IdentityReveal, VerificationRun, VerificationStatus
from dashboard.services import verification_perform, verification_request
from portal.models import Enquiry, EnquiryStatus
from portal.services import card_issue
from tests.dashboard.conftest import integrate_and_index
from tests.portal.browser import launch, serious_violations
from tests.portal.conftest import hidden_entry, make_counter_clerk, witness_now
from tests.support.factories import StaffFactory, send_request

pytestmark = pytest.mark.browser
SHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
PASSWORD = "dashboard-password-1"

# Collects Content-Security-Policy violations, as tests/config/test_csp_browser.py does.
COLLECT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


@pytest.fixture
def browser(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


def new_page(browser):
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script(COLLECT)
    return page


@pytest.fixture
def page(browser):
    page = new_page(browser)
    yield page
    page.context.close()


def shot(page, name: str) -> None:
    if os.environ.get("SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def check(page) -> None:
    """No serious or critical axe-core violation, and no CSP violation, on this page."""
    assert serious_violations(page) == [], page.url
    assert page.evaluate("window.__cspViolations") == [], page.url


def log_in(page, base: str, user) -> None:
    page.goto(f"{base}/audit/login/")
    check(page)
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/audit/")


@pytest.fixture
def witnessed(settings, tmp_path):
    settings.WITNESS_DIR = tmp_path / "witness"
    settings.PORTAL_WITNESS_KEYS = []
    return settings.WITNESS_DIR


@pytest.fixture
def eager():
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_an_answer_reaches_the_resident(live_server, browser, world, national, witnessed):
    send_request(world)
    witness_now(witnessed)
    card = card_issue(staff=make_counter_clerk(world), person=world.person, pin="1234")
    base = live_server.url
    resident = new_page(browser)
    resident.goto(f"{base}/portal/login/")
    resident.fill("#id_serial", card.serial)
    resident.fill("#id_pin", "1234")
    resident.click("button.primary")
    resident.click("table.records tbody a >> nth=0")
    resident.fill("#id_question", "この照会はどの手続のためですか。")
    resident.click("text=この記録について問い合わせる >> nth=1")
    resident.wait_for_selector("ul.messages")
    integrate_and_index()

    auditor = new_page(browser)
    log_in(auditor, base, national)
    check(auditor)
    shot(auditor, "audit-home")
    auditor.click("header nav >> text=問い合わせ")
    auditor.wait_for_selector("table.enquiries tbody tr[data-enquiry]")
    check(auditor)
    shot(auditor, "audit-enquiries")
    auditor.click("table.enquiries tbody a >> nth=0")
    assert "この照会はどの手続のためですか。" in auditor.inner_text(".question")
    check(auditor)
    auditor.fill("#id_answer", "児童手当の認定のための照会です。")
    shot(auditor, "audit-enquiry")
    auditor.click("text=回答を送る")
    auditor.wait_for_selector("ul.messages")
    assert "回答を送りました" in auditor.inner_text("ul.messages")
    assert Enquiry.objects.get().status == EnquiryStatus.ANSWERED

    resident.goto(f"{base}/portal/enquiries/")
    table = resident.inner_text("table")
    assert "児童手当の認定のための照会です。" in table and "回答済み" in table
    resident.goto(f"{base}/portal/?tab=exchange")
    assert "監査担当による閲覧" in resident.inner_text("table.records")  # the auditor's look
    resident.context.close()
    auditor.context.close()


def _tamper() -> int:
    """Rewrite the bytes of one entry in the middle of the log as the database owner."""
    entry = LedgerEntry.objects.filter(intake__event_type="linkage.request").order_by("seq")[1]
    with triggers_disabled(connection):
        LedgerIntake.objects.filter(pk=entry.intake_id).update(
            leaf=entry.intake.leaf.replace('"provided"', '"refused"')
        )
    return entry.seq


def test_the_integrity_panel_turns_red_on_a_tampered_copy(
    live_server, page, world, national, witnessed, eager
):
    for _ in range(4):
        send_request(world)
    witness_now(witnessed)
    base = live_server.url
    log_in(page, base, national)
    page.goto(f"{base}/audit/integrity/")
    check(page)
    page.click("#run-verify")
    page.wait_for_selector("dl.last-run.ok")
    assert "alarm" not in page.content()
    check(page)
    shot(page, "audit-integrity")
    seq = _tamper()
    page.click("#run-verify")
    page.wait_for_selector("#alarm")
    alarm = page.inner_text("#alarm")
    assert "警報" in alarm and f"seq {seq}: payload" in alarm
    assert page.get_attribute("#alarm", "role") == "alert"
    # Red, and said in words as well (not colour alone).
    color = page.eval_on_selector("#alarm", "e => getComputedStyle(e).borderTopColor")
    assert color == "rgb(179, 38, 30)"
    assert "改ざんを検出" in page.inner_text("dl.last-run")
    check(page)
    shot(page, "audit-integrity-red")
    page.goto(f"{base}/audit/")
    assert "tile bad" in page.content()
    assert VerificationRun.objects.filter(status=VerificationStatus.FAILED).count() == 1


def test_the_progress_bar_follows_a_run_and_shows_its_result(live_server, page, world, national):
    for _ in range(3):
        send_request(world)
    integrate_and_index()
    run = verification_request(user=national)  # queued; no worker takes it yet
    base = live_server.url
    log_in(page, base, national)
    page.goto(f"{base}/audit/integrity/")
    page.wait_for_selector("#verify-progress")
    check(page)
    shot(page, "audit-integrity-running")

    # A worker picks it up now; the page follows it and reloads when it is done.
    def work() -> None:
        time.sleep(0.5)
        verification_perform(run_id=run.pk)

    worker = threading.Thread(target=work)
    worker.start()
    page.wait_for_selector("dl.last-run.ok", timeout=15_000)
    worker.join()
    assert page.locator("#verify-progress").count() == 0
    assert "正常" in page.inner_text("dl.last-run")


def test_a_privacy_officer_reveals_who_a_pseudonym_is(live_server, page, world, officer):
    peer = StaffFactory(department=world.clerk.department, affairs=[world.affair])
    world.clerk.user.last_name, world.clerk.user.first_name = "鈴木", "一郎"
    world.clerk.user.save()
    for _ in range(6):
        send_request(world)
    for n in range(3):
        ledger_append(
            event_type="linkage.request",
            fields={
                "request_id": str(uuid.uuid4()),
                "requester": world.mayor.code,
                "provider": world.pension.code,
                "affair": world.affair.code,
                "item": world.pension_item.code,
                "staff": peer.audit_pseudonym,
                "outcome": "provided",
                "nondisclosure": False,
            },
            moment=timezone.now() - dt.timedelta(days=n),
        )
    integrate_and_index()
    base = live_server.url
    log_in(page, base, officer)
    page.goto(f"{base}/audit/staff/{world.clerk.audit_pseudonym}/")
    check(page)  # the purpose form
    page.select_option("#id_purpose", "complaint")
    page.click("button.primary")
    page.wait_for_selector("svg.chart")
    check(page)
    assert world.clerk.user.username not in page.content()
    page.select_option("#id_reason", "complaint")
    page.fill("#id_note", "住民からの苦情（受付番号 C-7）について、照会した職員を確認するため。")
    shot(page, "audit-staff")
    page.click("#reveal-submit")
    page.wait_for_selector("#revealed")
    assert world.clerk.user.username in page.inner_text("#revealed")
    assert "鈴木 一郎" in page.inner_text("#revealed")
    check(page)
    shot(page, "audit-staff-revealed")
    assert IdentityReveal.objects.get().note.startswith("住民からの苦情")
    assert LedgerIntake.objects.filter(event_type="audit.reveal").count() == 1


def test_every_dashboard_page_is_accessible_and_an_entry_verifies_in_the_browser(
    live_server, browser, world, national, officer, witnessed
):
    for _ in range(3):
        send_request(world)
    send_request(world, item=world.resident_item, provider=world.board)
    hidden_entry(world.person)
    witness_now(witnessed)
    integrate_and_index()
    from portal.services import enquiry_open

    first = LedgerEntry.objects.filter(intake__event_type="linkage.request").order_by("seq")[0]
    enquiry = enquiry_open(person=world.person, intake_id=first.intake_id, question="質問です。")
    integrate_and_index()
    witness_now(witnessed)
    subject = first.intake.subject
    base = live_server.url
    for user, prefix in ((national, "audit"), (officer, "audit-officer")):
        page = new_page(browser)
        log_in(page, base, user)
        pages = [
            ("home", "/audit/"),
            ("entries", "/audit/entries/"),
            ("entries-subject", f"/audit/entries/?q={subject}&purpose=routine_audit"),
            ("purpose", f"/audit/entries/{first.seq}/"),
            ("entry", f"/audit/entries/{first.seq}/?purpose=routine_audit"),
            ("enquiries", "/audit/enquiries/?status="),
            ("enquiry", f"/audit/enquiries/{enquiry.public_id}/"),
            ("integrity", "/audit/integrity/"),
            ("charts", "/audit/charts/"),
            ("staff", f"/audit/staff/{world.clerk.audit_pseudonym}/?purpose=routine_audit"),
        ]
        for name, path in pages:
            page.goto(f"{base}{path}")
            page.wait_for_selector("#log-watch[data-done='1']")
            if name == "entry":
                page.wait_for_selector("#verify[data-done='1']", timeout=15_000)
                assert page.get_attribute("#verify", "data-state") == "ok", page.inner_text(
                    "#verify"
                )
                assert "ブラウザーで検証しました" in page.inner_text("#verify")
            assert "ok" in page.get_attribute("#log-watch", "class")
            check(page)
            if name in ("entries", "entry", "charts") and user is national:
                shot(page, f"{prefix}-{name}")
        if user is officer:
            shot(page, f"{prefix}-staff")
        page.context.close()
    # A plain clerk's page, and the phone width of the entries list.
    page = new_page(browser)
    world.clerk.user.set_password(PASSWORD)
    world.clerk.user.save()
    page.goto(f"{base}/audit/login/")
    page.fill("#id_username", world.clerk.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_selector("h1")
    assert "監査担当ではありません" in page.inner_text("h1")
    check(page)
    page.context.close()
    page = new_page(browser)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, base, national)
    page.goto(f"{base}/audit/charts/")
    check(page)
    page.context.close()
