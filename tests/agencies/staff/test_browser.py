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
