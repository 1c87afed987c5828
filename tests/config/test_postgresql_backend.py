"""config.postgresql: the health check looks at the socket, and still catches a dead connection."""

import time

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper as DjangoWrapper

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _round_trips_of(monkeypatch):
    calls = []
    real = DjangoWrapper.is_usable

    def counted(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(DjangoWrapper, "is_usable", counted)
    return calls


def test_a_healthy_idle_connection_is_usable_without_a_round_trip(monkeypatch):
    assert connection.settings_dict["ENGINE"] == "config.postgresql"
    connection.ensure_connection()
    round_trips = _round_trips_of(monkeypatch)
    assert connection.is_usable()
    assert round_trips == []


def test_a_connection_the_server_dropped_is_not_usable_and_is_replaced(monkeypatch):
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    round_trips = _round_trips_of(monkeypatch)
    for _ in range(50):  # the server's goodbye reaches the socket shortly after
        if connection.is_usable() is False:
            break
        time.sleep(0.02)
    assert connection.is_usable() is False
    # Only once something was waiting on the socket did the real check run (and fail).
    assert round_trips == [1]
    # What each request does: request_started re-arms the check, the first query runs it,
    # and the dead connection is replaced by a new one.
    connection.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
