"""How long a login lasts: 30 minutes without a request, 10 hours at most however busy."""

import datetime as dt
import logging

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

PASSWORD = "correct horse battery staple"
NOW = dt.datetime(2026, 6, 10, 0, 0, tzinfo=dt.UTC)  # 09:00 in Tokyo


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def logged_in(db, clock):
    """A browser logged in through the login page (as a person does, not force_login)."""
    get_user_model().objects.create_superuser("admin1", "a@example.invalid", PASSWORD)
    client = Client()
    response = client.post("/admin/login/", {"username": "admin1", "password": PASSWORD})
    assert response.status_code == 302
    assert in_admin(client)
    return client


def in_admin(client):
    response = client.get("/admin/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    return False


def test_thirty_idle_minutes_end_the_session(logged_in, clock):
    clock.shift(dt.timedelta(minutes=29))
    assert in_admin(logged_in)
    # Every request moves the expiry on: 29 more minutes are still within it.
    clock.shift(dt.timedelta(minutes=29))
    assert in_admin(logged_in)
    clock.shift(dt.timedelta(minutes=30, seconds=1))
    assert not in_admin(logged_in)


def test_the_session_cookie_expires_with_the_idle_timeout(logged_in):
    response = logged_in.get("/admin/")
    assert response.cookies["sessionid"]["max-age"] == 30 * 60


def test_ten_hours_after_login_the_session_ends_however_busy(logged_in, clock, caplog):
    caplog.set_level(logging.INFO, logger="yaritori.security")
    for _ in range(10 * 3 - 1):  # a request every 20 minutes for 9 h 40 min
        clock.shift(dt.timedelta(minutes=20))
        assert in_admin(logged_in)
    clock.shift(dt.timedelta(minutes=19, seconds=59))
    assert in_admin(logged_in)  # 9:59:59 after the login
    clock.shift(dt.timedelta(seconds=1))
    assert not in_admin(logged_in)  # 10:00:00
    assert "absolute timeout" in caplog.text
    assert "admin1" in caplog.text
    # Logging in again starts a new ten hours.
    response = logged_in.post("/admin/login/", {"username": "admin1", "password": PASSWORD})
    assert response.status_code == 302
    assert in_admin(logged_in)


def test_a_session_without_a_login_time_is_ended(logged_in):
    # A login from before the absolute timeout existed cannot prove when it began.
    from config.security import LOGIN_AT_SESSION_KEY

    session = logged_in.session
    del session[LOGIN_AT_SESSION_KEY]
    session.save()
    assert not in_admin(logged_in)


def test_the_staff_pages_end_the_session_too(db, clock):
    get_user_model().objects.create_user("clerk1", password=PASSWORD)
    client = Client()
    client.post("/staff/login/", {"username": "clerk1", "password": PASSWORD})
    for _ in range(23):  # a request every 25 minutes for 9 h 35 min
        clock.shift(dt.timedelta(minutes=25))
        # Logged in, but not staff: the page says so (403) instead of asking for a login.
        assert client.get("/staff/").status_code == 403
    clock.shift(dt.timedelta(minutes=25))
    response = client.get("/staff/")
    assert response.status_code == 302 and response["Location"].startswith("/staff/login/")
    assert "_auth_user_id" not in client.session
