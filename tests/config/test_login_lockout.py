"""Login throttling (django-axes) on the staff and admin logins, as an attacker tries them:
many wrong passwords, then the right one; other addresses; forged proxy headers; waiting."""

import datetime as dt
import logging

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

PASSWORD = "correct horse battery staple"
WRONG = "Tr0ub4dor&3-wrong"
ATTACKER = "203.0.113.9"
NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)

LOGINS = {
    "staff": "/staff/login/",
    "admin": "/admin/login/",
}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clerk(db):
    # A superuser, so that the admin login would let it in as well as the staff login.
    return get_user_model().objects.create_superuser("clerk", "clerk@example.invalid", PASSWORD)


def attempt(
    url, password, *, username="clerk", ip=ATTACKER, forwarded=None, language="ja", agent="b/1"
):
    """One login attempt from a fresh browser; returns (response, logged_in)."""
    headers = {"REMOTE_ADDR": ip, "HTTP_ACCEPT_LANGUAGE": language, "HTTP_USER_AGENT": agent}
    if forwarded:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    client = Client(**headers)
    response = client.post(url, {"username": username, "password": password, "next": "/"})
    return response, "_auth_user_id" in client.session


@pytest.mark.parametrize("site", LOGINS)
def test_fifteen_wrong_passwords_then_the_right_one_does_not_log_in(clerk, site, caplog):
    caplog.set_level(logging.INFO)
    url = LOGINS[site]
    for _ in range(15):
        response, logged_in = attempt(url, WRONG)
        assert not logged_in
    response, logged_in = attempt(url, PASSWORD)
    assert not logged_in
    assert response.status_code == 429
    page = response.content.decode()
    assert "ログインを一時的に停止しています" in page
    assert "15分間" in page
    # Each failure and each refusal by the lockout is logged, without the password.
    failures = [r for r in caplog.records if r.getMessage().startswith("login failed:")]
    lockouts = [r for r in caplog.records if r.getMessage().startswith("login locked out:")]
    assert len(failures) == 16  # the 15 wrong ones and the right one, refused
    assert len(lockouts) == 16 - settings.AXES_FAILURE_LIMIT + 1
    assert "username='clerk'" in lockouts[0].getMessage()
    assert f"ip={ATTACKER}" in lockouts[0].getMessage()
    assert lockouts[0].levelno == logging.WARNING
    assert PASSWORD not in caplog.text
    assert WRONG not in caplog.text
    # Nor does axes keep the password in what it stores of the attempts.
    from axes.models import AccessAttempt

    stored = [str(vars(a)) for a in AccessAttempt.objects.all()]
    assert stored and not any(WRONG in s or PASSWORD in s for s in stored)


def test_the_limit_is_five_wrong_passwords(clerk):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(LOGINS["staff"], WRONG)
    # Four typos leave the clerk able to log in, and the count starts again from there.
    assert attempt(LOGINS["staff"], PASSWORD)[1]
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(LOGINS["staff"], WRONG)
    assert attempt(LOGINS["staff"], PASSWORD)[1]
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(LOGINS["staff"], WRONG)
    assert not attempt(LOGINS["staff"], PASSWORD)[1]


def test_a_lockout_on_one_login_holds_on_the_other(clerk):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(LOGINS["staff"], WRONG)
    response, logged_in = attempt(LOGINS["admin"], PASSWORD)
    assert (response.status_code, logged_in) == (429, False)


def test_the_lockout_is_per_user_name_and_address(clerk, django_user_model):
    django_user_model.objects.create_user("other", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(LOGINS["staff"], WRONG)
    assert not attempt(LOGINS["staff"], PASSWORD)[1]
    # The clerk at their own desk is not locked out by a guesser elsewhere...
    assert attempt(LOGINS["staff"], PASSWORD, ip="198.51.100.20")[1]
    # ...nor is another user at the guesser's address.
    assert attempt(LOGINS["staff"], PASSWORD, username="other")[1]


def test_forged_forwarded_addresses_do_not_escape_the_lockout(clerk):
    # Straight to the application (no trusted proxy in front): X-Forwarded-For is the
    # client's own invention and must not make each attempt look like a new address.
    for n in range(10):
        attempt(LOGINS["staff"], WRONG, forwarded=f"192.0.2.{n}")
    response, logged_in = attempt(LOGINS["staff"], PASSWORD, forwarded="192.0.2.200")
    assert (response.status_code, logged_in) == (429, False)
    from axes.models import AccessAttempt

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}


def test_a_new_user_agent_for_every_try_does_not_escape_the_lockout(clerk):
    for n in range(10):
        attempt(LOGINS["admin"], WRONG, agent=f"guesser/{n}")
    response, logged_in = attempt(LOGINS["admin"], PASSWORD, agent="Mozilla/5.0")
    assert (response.status_code, logged_in) == (429, False)


def test_behind_the_proxy_each_client_is_its_own_address(clerk):
    # nginx on this host writes the client's address into X-Forwarded-For (deploy/nginx).
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(LOGINS["staff"], WRONG, ip="127.0.0.1", forwarded=ATTACKER)
    assert not attempt(LOGINS["staff"], PASSWORD, ip="127.0.0.1", forwarded=ATTACKER)[1]
    assert attempt(LOGINS["staff"], PASSWORD, ip="127.0.0.1", forwarded="198.51.100.20")[1]
    # A client's own X-Forwarded-For before nginx's entry changes nothing: nginx's is last.
    assert not attempt(
        LOGINS["staff"], PASSWORD, ip="127.0.0.1", forwarded=f"198.51.100.20, {ATTACKER}"
    )[1]


def test_the_lockout_ends_after_the_cool_off_and_every_try_restarts_it(clerk, clock):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(LOGINS["staff"], WRONG)
    clock.shift(dt.timedelta(minutes=10))
    assert not attempt(LOGINS["staff"], WRONG)[1]  # during the lockout: starts it again
    clock.shift(dt.timedelta(minutes=10))
    assert not attempt(LOGINS["staff"], PASSWORD)[1]  # 20 min after the first, 10 after the last
    clock.shift(dt.timedelta(minutes=15, seconds=1))
    response, logged_in = attempt(LOGINS["staff"], PASSWORD)
    assert logged_in, response.content.decode()[:500]


def test_the_lockout_page_is_english_on_request(clerk):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(LOGINS["admin"], WRONG)
    response, _ = attempt(LOGINS["admin"], PASSWORD, language="en")
    page = response.content.decode()
    assert response.status_code == 429
    assert "Login temporarily blocked" in page
    assert "blocked here for 15 minutes" in page
    assert "ログイン" not in page


def test_a_successful_login_is_recorded_with_its_address(clerk):
    assert attempt(LOGINS["staff"], PASSWORD)[1]
    from axes.models import AccessLog

    assert list(AccessLog.objects.values_list("username", "ip_address")) == [("clerk", ATTACKER)]
