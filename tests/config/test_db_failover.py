"""A database restart or failover costs no failed request.

When PostgreSQL drops a worker's idle persistent connection (a restart, a failover, an
administrator's pg_terminate_backend), the next request on that worker must reconnect and
answer normally, not 500. The requests go through Django's real WSGI handler, as gunicorn
calls it, so that the request_started/request_finished signals run exactly as in production
(the test client switches them off), with persistent connections (CONN_MAX_AGE > 0) and
CONN_HEALTH_CHECKS on; between requests the worker's backend is terminated.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection

from tests.support.factories import request_body
from tests.support.world import agency_client

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _admin_connection() -> psycopg.Connection[Any]:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def _terminate_worker_backend(admin: psycopg.Connection[Any]) -> int:
    """Terminate the backend of this thread's Django connection (the "worker's"), as a restart
    or failover does, and wait until the server has closed it; its pid.

    Only that backend: the other connections to the test database (a live server's thread
    kept for the session, a fixture's) belong to other tests, which a restart here must not
    break."""
    pid = connection.connection.info.backend_pid
    admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    # Wait until the server has really closed it (and written its goodbye to the socket).
    for _ in range(100):
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]
        ).fetchone()
        if row is not None and row[0] == 0:
            break
        time.sleep(0.01)
    return pid


def _wsgi(
    app: WSGIHandler,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        **(headers or {}),
    }
    status: list[str] = []

    def start_response(line: str, response_headers: Any, exc_info: Any = None) -> Any:
        status.append(line)
        return lambda data: None

    result = app(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        # What a WSGI server does at the end of every response: request_finished, which
        # closes a connection that had errors or outlived CONN_MAX_AGE.
        result.close()
    return int(status[0].split()[0]), content


@pytest.fixture
def persistent_connections(settings):
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    old = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 600
    yield
    connection.settings_dict["CONN_MAX_AGE"] = old


def _api_headers(world) -> dict[str, str]:
    client = agency_client(world.clerk)
    return {
        "HTTP_AUTHORIZATION": client._credentials["HTTP_AUTHORIZATION"],
        "HTTP_X_OPERATOR_CREDENTIAL": client._credentials["HTTP_X_OPERATOR_CREDENTIAL"],
    }


def test_the_agency_api_survives_terminated_backends(world, persistent_connections):
    app = WSGIHandler()
    headers = _api_headers(world)

    def send() -> int:
        body = json.dumps(request_body()).encode()
        status, content = _wsgi(app, "POST", "/api/agency/requests", body, headers)
        assert status != 500, content[:300]
        return status

    assert send() == 201  # warm: the worker's connection and its prepared statements exist
    with _admin_connection() as admin:
        for _round in range(5):
            pid = _terminate_worker_backend(admin)
            statuses = [send() for _ in range(6)]
            assert statuses == [201] * 6
            # The worker really did reconnect (a new backend), it was not spared.
            assert connection.connection.info.backend_pid != pid


def test_an_ordinary_page_survives_terminated_backends(world, persistent_connections):
    app = WSGIHandler()
    # A page that reads the database: the staff login page for an anonymous visitor reads
    # nothing, so log in through the real handler first and keep the session cookie.
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("root", "r@example.invalid", "x" * 16)
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    from config.security import LOGIN_AT_SESSION_KEY

    session[LOGIN_AT_SESSION_KEY] = int(time.time())
    session.create()
    headers = {"HTTP_COOKIE": f"sessionid={session.session_key}"}

    def page() -> int:
        status, content = _wsgi(app, "GET", "/admin/agencies/person/", headers=headers)
        assert status != 500, content[:300]
        return status

    assert page() == 200
    with _admin_connection() as admin:
        for _round in range(5):
            pid = _terminate_worker_backend(admin)
            assert [page() for _ in range(6)] == [200] * 6
            assert connection.connection.info.backend_pid != pid
