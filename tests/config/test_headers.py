"""Security headers from Django itself: a strict Content-Security-Policy everywhere but the API
docs page, HSTS over HTTPS, the referrer policy, nosniff, and no Server banner (Django's or
gunicorn's)."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PAGES = ["/staff/login/", "/admin/login/", "/", "/api/schema/", "/api/log/consistency?old=x"]


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_strict_policy(client, path):
    response = client.get(path)
    assert policy(response).items() >= STRICT.items()
    header = response["Content-Security-Policy"]
    assert "unsafe" not in header  # no inline script or style, no eval
    assert "http" not in header  # no other origin, no CDN


@pytest.mark.django_db
def test_the_api_docs_page_loads_nothing_from_another_site(client):
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    allowed = policy(docs)
    header = docs["Content-Security-Policy"]
    # Strict like every page, except that swagger-ui.css may draw its icons as data: images.
    assert {k: v for k, v in allowed.items() if k != "img-src"}.items() >= {
        k: v for k, v in STRICT.items() if k != "img-src"
    }.items()
    assert allowed["img-src"] == "'self' data:"
    assert "http" not in header and "unsafe" not in header
    # The page's scripts and styles are files of this origin: none inline, none elsewhere.
    html = docs.content.decode()
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attributes for attributes in scripts)
    assert "<style" not in html
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/"), url
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    own = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', html)
    assert own is not None
    init = client.get(own.group(1).replace("&amp;", "&"))
    assert init.status_code == 200
    assert init["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in init.content.decode()


def test_no_policy_names_a_cdn():
    for sources in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].values():
        assert not [s for s in sources if "http" in s or "cdn" in s]


@pytest.mark.django_db
def test_https_answers_carry_hsts_for_a_year(client):
    response = client.get("/staff/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    # Over plain http (the demo) there is none: a browser would ignore it anyway.
    assert "Strict-Transport-Security" not in client.get("/staff/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_referrer_policy_nosniff_and_no_server_banner(client, path):
    response = client.get(path, secure=True)
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "Server" not in response


def _templates() -> list[Path]:
    roots = [ROOT / "templates", *ROOT.glob("*/templates")]
    return sorted(p for root in roots for p in root.rglob("*.html"))


def test_no_template_has_inline_script_style_or_event_handler():
    assert len(_templates()) > 10
    for path in _templates():
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag, f"{path}: inline <script>"
        assert not re.search(r"<style\b", text), f"{path}: inline <style>"
        assert not re.search(r"\sstyle\s*=", text), f"{path}: style attribute"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{path}: inline event handler"
        assert "javascript:" not in text, f"{path}: javascript: URL"


def test_the_settings_say_so_in_production():
    # What a deployment gets without setting anything (config/settings.py's defaults).
    assert settings.SECURE_HSTS_SECONDS == 365 * 24 * 3600
    assert settings.SECURE_REFERRER_POLICY == "same-origin"
    assert settings.SECURE_CONTENT_TYPE_NOSNIFF is True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_as_deployed_does_not_name_itself(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(YARITORI_VAR_DIR=str(tmp_path), WEB_CONCURRENCY="1")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen(
        [
            str(gunicorn),
            "-c",
            "deploy/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "config.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=2):
                    pass
            except urllib.error.HTTPError as answered:
                headers = answered.headers
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
                continue
            else:
                pytest.fail("/no-such-page/ answered 200")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Server" not in headers, headers["Server"]
    assert "default-src 'self'" in headers["Content-Security-Policy"]
