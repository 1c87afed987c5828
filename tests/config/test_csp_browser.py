"""The strict Content-Security-Policy breaks nothing on the staff pages or the admin: a real
browser (Debian's chromium) reports no violation on any page a clerk or an administrator
opens, and the pages still work (log in, send a query, open a resident)."""

import shutil

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"

COLLECT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`
  );
});
"""


@pytest.fixture
def page(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(locale="ja-JP")
        console: list[str] = []
        page.on(
            "console",
            lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.add_init_script(COLLECT)
        page.csp_console = console  # type: ignore[attr-defined]
        yield page
        browser.close()


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations") + page.csp_console


def visit(page, url):
    page.goto(url)
    page.wait_for_load_state("load")
    assert violations(page) == [], url


def test_staff_pages_run_under_the_policy(world, live_server, page):
    world.clerk.user.set_password(PASSWORD)
    world.clerk.user.save()
    base = live_server.url
    visit(page, f"{base}/staff/login/")
    page.fill("#id_username", world.clerk.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/staff/")
    assert violations(page) == []
    for path in ["/staff/", "/staff/cases/new/", "/staff/requests/", "/staff/held/"]:
        visit(page, base + path)
    visit(page, f"{base}/staff/requests/new/")
    page.select_option("#id_route", f"{world.affair.pk}:{world.pension_item.pk}:{world.pension.pk}")
    page.fill("#id_addressee_number", "000000000012345")
    page.click("text=次へ（照会対象者の確認）")
    page.wait_for_selector("dl.subject")
    page.click("text=この方について照会する")
    page.wait_for_selector(".payload")
    assert violations(page) == []
    page.select_option("#language-select", "en")
    page.click("text=切替")
    page.wait_for_selector("text=Answer")
    assert violations(page) == []


def test_admin_pages_run_under_the_policy(world, live_server, page):
    get_user_model().objects.create_superuser("root", "root@example.invalid", PASSWORD)
    base = live_server.url
    visit(page, f"{base}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    assert violations(page) == []
    for path in [
        "/admin/",
        "/admin/agencies/person/",
        f"/admin/agencies/person/{world.person.pk}/change/",
        "/admin/agencies/informationitem/add/",  # filter_horizontal: the most script
        "/admin/auth/user/add/",
        "/admin/agencies/linkagerequest/",
    ]:
        visit(page, base + path)
    # The admin's own scripts still run: the sidebar toggle and the dual select box.
    visit(page, f"{base}/admin/agencies/informationitem/add/")
    assert page.locator(".selector-available").count() == 1
