"""The resident portal in Debian's chromium (Playwright, a live server): card login and
lockout, the list and its filters, a record turning verified in the browser, a tampered proof
or checkpoint turning red, a rolled-back log noticed on the next visit, the CSV, an enquiry,
a proxy's view without 不開示 records; axe-core on every page; screenshots for the README
(SCREENSHOTS=1 writes them to docs/screenshots/)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from django.conf import settings

from audit.ledger import cosigned_note, latest_checkpoint
from audit.models import LedgerIntake
from portal.models import Card, Enquiry
from portal.services import proxy_accept, proxy_name
from tests.portal.browser import launch, serious_violations
from tests.portal.conftest import hidden_entry, integrate, witness_now
from tests.support.factories import send_request, transfer_internally

pytestmark = pytest.mark.browser
SHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"


@pytest.fixture
def browser(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def shot(page, name: str) -> None:
    if os.environ.get("SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page, url: str, card, pin: str) -> None:
    page.goto(f"{url}/portal/login/")
    page.fill("#id_serial", card.serial)
    page.fill("#id_pin", pin)
    page.click("button.primary")


def wait_watch(page) -> str:
    page.wait_for_selector("#log-watch[data-done='1']")
    return page.get_attribute("#log-watch", "class")


def wait_verify(page) -> str:
    page.wait_for_selector("#verify[data-done='1']", timeout=15_000)
    return page.get_attribute("#verify", "data-state")


def test_home_and_login_page_are_japanese_accessible_and_lock_after_three_wrong_pins(
    live_server, page, resident
):
    page.goto(f"{live_server.url}/")
    assert "誰があなたの情報を求めたか" in page.inner_text("h1")
    assert "see who asked for your data" in page.inner_text("main")  # with English
    assert serious_violations(page) == []
    shot(page, "home")
    page.goto(f"{live_server.url}/portal/login/")
    assert serious_violations(page) == []
    assert page.locator("input").evaluate_all("i => i.map(x => x.name)").count("pin") == 1
    shot(page, "login")
    for _ in range(3):
        page.fill("#id_serial", resident.card.serial)
        page.fill("#id_pin", "0000")
        page.click("button.primary")
    assert "ロックされています" in page.inner_text(".errors")
    page.fill("#id_serial", resident.card.serial)
    page.fill("#id_pin", resident.pin)
    page.click("button.primary")
    assert "ロックされています" in page.inner_text(".errors")
    assert Card.objects.get(pk=resident.card.pk).is_locked
    assert LedgerIntake.objects.filter(event_type="card.lock").count() == 1


def test_list_filters_csv_and_a_record_turning_verified(
    live_server, page, world, resident, witness_dir
):
    send_request(world)
    send_request(world, item=world.resident_item, provider=world.board)
    transfer_internally(world)
    witness_now(witness_dir)
    log_in(page, live_server.url, resident.card, resident.pin)
    page.wait_for_selector("table.records")
    assert "ok" in wait_watch(page)
    assert page.locator("table.records tbody tr").count() == 2
    assert serious_violations(page) == []
    shot(page, "records")
    page.select_option("#id_item", world.pension_item.code)
    page.click("form.filters button.primary")
    page.wait_for_url("**item=*")
    assert page.locator("table.records tbody tr").count() == 1
    with page.expect_download() as download:
        page.click("text=CSVをダウンロード")
    body = Path(download.value.path()).read_bytes()
    assert body.startswith("\ufeff".encode()) and "年金給付関係情報".encode() in body
    page.click("nav.tabs >> text=庁内連携")
    assert page.locator("table.records tbody tr").count() == 1
    assert serious_violations(page) == []
    page.click("nav.tabs >> text=情報連携と閲覧")
    page.click("table.records tbody a >> nth=0")
    assert wait_verify(page) == "ok"
    assert "検証しました" in page.inner_text("#verify")
    assert serious_violations(page) == []
    shot(page, "record")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{live_server.url}/portal/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "records-phone")


def _flip_proof(route):
    response = route.fetch()
    bundle = response.json()
    proof = bundle["entries"][0]["proof"]
    first = bytearray(base64.b64decode(proof[0]))
    first[0] ^= 1
    proof[0] = base64.b64encode(bytes(first)).decode()
    route.fulfill(response=response, json=bundle)


def _unsign_checkpoint(route):
    response = route.fetch()
    bundle = response.json()
    note = bundle["checkpoint"]["note"]
    lines = note.split("\n")
    lines[1] = str(int(lines[1]) + 1)  # claim a bigger tree under the same signature
    bundle["checkpoint"]["note"] = "\n".join(lines)
    route.fulfill(response=response, json=bundle)


@pytest.mark.parametrize(
    ("tamper", "why"),
    [(_flip_proof, "inclusion proof"), (_unsign_checkpoint, "does not verify")],
)
def test_a_tampered_proof_or_checkpoint_turns_red(
    live_server, page, world, resident, witness_dir, tamper, why
):
    send_request(world)
    send_request(world)
    witness_now(witness_dir)
    intake = LedgerIntake.objects.filter(event_type="linkage.request").order_by("id").first()
    log_in(page, live_server.url, resident.card, resident.pin)
    page.route("**/proof.json", tamper)
    page.goto(f"{live_server.url}/portal/records/{intake.pk}/")
    assert wait_verify(page) == "bad"
    assert why in page.inner_text("#verify")
    assert "検証できません" in page.inner_text("#verify")
    if tamper is _flip_proof:
        shot(page, "record-tampered")


def test_a_rolled_back_log_is_shown_red_on_the_next_visit(live_server, page, world, resident):
    send_request(world)
    integrate()
    before = latest_checkpoint()
    assert before is not None
    old_note = cosigned_note(before)
    log_in(page, live_server.url, resident.card, resident.pin)
    assert "ok" in wait_watch(page)
    send_request(world)
    send_request(world)
    integrate()
    page.reload()
    assert "ok" in wait_watch(page)  # the browser now remembers the larger log
    # The server now shows the older, genuinely signed checkpoint: a rollback.
    page.route(
        "**/api/log/checkpoint",
        lambda route: route.fulfill(status=200, body=old_note, content_type="text/plain"),
    )
    page.reload()
    assert "bad" in wait_watch(page)
    text = page.inner_text("#log-watch")
    assert "巻き戻し" in text
    assert f"size {latest_checkpoint().size}" in text and "rolled back" in text
    shot(page, "rollback")


def test_an_enquiry_is_opened_and_listed(live_server, page, world, resident, witness_dir):
    send_request(world)
    witness_now(witness_dir)
    log_in(page, live_server.url, resident.card, resident.pin)
    page.click("table.records tbody a >> nth=0")
    page.fill("#id_question", "この照会の理由を教えてください。")
    page.click("text=この記録について問い合わせる >> nth=1")
    page.wait_for_selector("ul.messages")
    assert "受け付けました" in page.inner_text("ul.messages")
    assert Enquiry.objects.get().question == "この照会の理由を教えてください。"
    page.goto(f"{live_server.url}/portal/enquiries/")
    assert "受付済み" in page.inner_text("table")
    assert serious_violations(page) == []


def test_a_proxy_sees_the_principals_records_but_no_hidden_one(
    live_server, page, world, resident, other_resident
):
    send_request(world)
    hidden = hidden_entry(resident.person, item="TM00000000000099")
    integrate()
    named = proxy_name(principal=resident.person, proxy_card_serial=other_resident.card.serial)
    proxy_accept(proxy=other_resident.person, code=named.code)
    log_in(page, live_server.url, other_resident.card, other_resident.pin)
    page.goto(f"{live_server.url}/portal/proxies/")
    assert serious_violations(page) == []
    shot(page, "proxies")
    page.click("text=この方の記録を見る")
    page.wait_for_selector(".proxy-banner")
    assert page.locator("table.records tbody tr").count() == 1  # the request; not the hidden one
    page.reload()  # the first view was recorded for the principal, and shows now
    assert page.locator("table.records tbody tr").count() == 2
    assert "TM00000000000099" not in page.content()
    assert "代理人による閲覧" in page.inner_text("table.records")
    assert page.goto(f"{live_server.url}/portal/records/{hidden.intake_id}/").status == 404
    assert serious_violations(page) == []
