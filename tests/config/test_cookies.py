"""Cookies are Secure, HttpOnly and SameSite=Lax unless the plain-http demo turns Secure off."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


def assert_guarded(cookie):
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


@pytest.mark.django_db
def test_session_csrf_and_language_cookies_are_secure_httponly_lax():
    get_user_model().objects.create_user("clerk1", password=PASSWORD)
    client = Client(enforce_csrf_checks=True)
    login_page = client.get("/staff/login/")
    assert_guarded(login_page.cookies["csrftoken"])
    token = login_page.cookies["csrftoken"].value
    # The test client sends Secure cookies over http too, as a browser does over HTTPS.
    response = client.post(
        "/staff/login/",
        {"username": "clerk1", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert_guarded(response.cookies["sessionid"])
    token = client.cookies["csrftoken"].value  # a login rotates it
    switched = client.post(
        "/i18n/setlang/",
        {"language": "en", "next": "/staff/", "csrfmiddlewaretoken": token},
    )
    assert_guarded(switched.cookies["django_language"])


def settings_value(tmp_path, name, **env_overrides):
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SECURE_COOKIES")
    }
    env.update(YARITORI_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    env.update(env_overrides)
    code = f"from django.conf import settings; print(settings.{name})"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_secure_is_the_default_and_only_an_explicit_0_turns_it_off(tmp_path):
    assert settings_value(tmp_path, "SESSION_COOKIE_SECURE") == "True"
    assert settings_value(tmp_path, "CSRF_COOKIE_SECURE") == "True"
    off = {"DJANGO_SECURE_COOKIES": "0"}
    assert settings_value(tmp_path, "SESSION_COOKIE_SECURE", **off) == "False"
    assert settings_value(tmp_path, "CSRF_COOKIE_SECURE", **off) == "False"
