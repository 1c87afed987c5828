"""The staff pages in a real browser (Debian's chromium driven by Playwright): log in, send a
情報照会 from the form, read the answer, switch to English."""

import shutil

import pytest

from agencies.models import LinkageRequest, LinkageStatus

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


@pytest.fixture
def page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test
    # itself are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True)
        yield browser.new_page(locale="ja-JP")
        browser.close()


def test_staff_member_sends_a_query_and_reads_the_answer(world, live_server, page):
    world.clerk.user.set_password(PASSWORD)
    world.clerk.user.save()
    page.goto(f"{live_server.url}/staff/")
    assert page.title().startswith("職員ログイン")
    page.fill("#id_username", world.clerk.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.click("text=情報照会")
    route = f"{world.affair.pk}:{world.pension_item.pk}:{world.pension.pk}"
    page.select_option("#id_route", route)
    page.fill("#id_addressee_number", "000000000012345")
    page.click("text=次へ（照会対象者の確認）")
    page.wait_for_selector("dl.subject")
    page.click("text=この方について照会する")
    page.wait_for_selector(".payload")
    assert "老齢基礎年金" in page.inner_text(".payload")
    assert page.inner_text("h1 .status") == "提供済み"
    sent = LinkageRequest.objects.get()
    assert sent.status == LinkageStatus.PROVIDED
    assert sent.staff == world.clerk
    page.select_option("#language-select", "en")
    page.click("text=切替")
    page.wait_for_selector("text=Answer")
    assert page.inner_text("h1 .status") == "Provided"


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def log_in(page, base, staff):
    staff.user.set_password(PASSWORD)
    staff.user.save()
    page.goto(f"{base}/staff/login/")
    page.fill("#id_username", staff.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/staff/")


def test_staff_pages_have_no_serious_accessibility_violations(world, live_server, page):
    """axe-core on every staff page a clerk and a provider operator use: no serious or
    critical violation (labels, contrast, names of controls, language of the page)."""
    from agencies.batches import batch_open, batch_send
    from agencies.services import case_open
    from tests.support.factories import my_number_for, send_request

    base = live_server.url
    case = case_open(
        staff=world.clerk,
        affair=world.affair,
        reference="R8-A11Y",
        applicant=world.person,
        members=[],
    )
    batch = batch_open(
        staff=world.clerk,
        affair=world.affair,
        item=world.pension_item,
        provider=world.pension,
        purpose="status_check",
        addressee_numbers=["000000000012345"],
    )
    batch_send(batch_id=batch.pk)
    world.person.disclosure_protected, world.person.protection_reason = True, "DV等支援措置"
    world.person.save()
    held = send_request(world, item=world.resident_item, provider=world.board).request
    found = []
    page.goto(f"{base}/staff/login/")
    found += serious_violations(page)
    log_in(page, base, world.clerk)
    for path in [
        "/staff/",
        "/staff/cases/new/",
        f"/staff/cases/{case.pk}/",
        "/staff/requests/",
        f"/staff/requests/{held.request_id}/",
        "/staff/batches/",
        "/staff/batches/new/",
        f"/staff/batches/{batch.pk}/",
        "/staff/requests/new/",
    ]:
        page.goto(base + path)
        found += serious_violations(page)
    # The confirmation page, and the result.
    page.select_option("#id_route", f"{world.affair.pk}:{world.pension_item.pk}:{world.pension.pk}")
    page.fill("#id_my_number", my_number_for(1))
    page.click("text=次へ（照会対象者の確認）")
    page.wait_for_selector("dl.subject")
    found += serious_violations(page)
    page.click("text=この方について照会する")
    page.wait_for_selector("h1 .status")
    found += serious_violations(page)
    # The provider operator's side: the held queue and a 不開示 release.
    page.context.clear_cookies()
    log_in(page, base, world.board_clerk)
    for path in ["/staff/held/", f"/staff/held/{held.request_id}/release/confirm/"]:
        page.goto(base + path)
        found += serious_violations(page)
    assert found == []
