"""/api/docs/ works with no network but this site: the Swagger UI, its styles, scripts and
icons are served by the project itself (drf-spectacular-sidecar), and the page renders the
API's operations in chromium with every request to another host blocked, under a policy that
names no CDN and reports no violation."""

import shutil

import pytest

pytestmark = pytest.mark.browser

COLLECT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def test_the_api_docs_render_offline(live_server, db, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    offsite: list[str] = []
    local: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:")):
            local.append(url)
            request_route.continue_()
        else:
            offsite.append(url)
            request_route.abort("internetdisconnected")

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.route("**/*", route)
            page.add_init_script(COLLECT)
            failed: list[str] = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(f"{live_server.url}/api/docs/")
            # Swagger UI draws one block per operation once it has fetched the schema.
            page.wait_for_selector(".opblock", timeout=20_000)
            operations = page.locator(".opblock-summary-path").all_inner_texts()
            violations = page.evaluate("window.__cspViolations")
        finally:
            browser.close()
    assert offsite == [], "the page asked for another host"
    assert failed == []
    assert violations == []
    # The operations of both APIs are on the page.
    joined = " ".join(operations)
    assert "/api/agency/requests" in joined
    assert "/api/log/checkpoint" in joined
    # Its files came from this site's static files.
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in url for url in local)
