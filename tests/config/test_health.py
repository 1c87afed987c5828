"""/healthz and /readyz (config/health.py): liveness without the database; readiness of the
database, the broker, the sequencer and the signing key; 200 or 503 with a JSON body that
names each check and holds no personal data; never cached, throttled or host-checked."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest
import time_machine
from django.db import connection

from audit.ledger import ledger_append, ledger_integrate
from tests.support.events import TEST_EVENT

ROOT = Path(__file__).resolve().parents[2]
CHECKS = {"database", "broker", "sequencer", "signing_key", "cache"}


def _probe_module():
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "deploy/healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_liveness_answers_without_the_database(client):
    # No db fixture: any query would raise ("Database access not allowed").
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response


@pytest.mark.django_db
def test_probes_need_no_allowed_host_and_set_no_cookie(client):
    # A probe from compose or systemd asks for 127.0.0.1:8000 whatever the site's host is.
    for path in ("/healthz", "/readyz"):
        response = client.get(path, HTTP_HOST="10.1.2.3:8000")
        assert response.status_code == 200, path
        assert not response.cookies
    # Any other path with that host is still refused.
    assert client.get("/staff/login/", HTTP_HOST="10.1.2.3:8000").status_code == 400


@pytest.mark.django_db
def test_readiness_reports_every_check(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == CHECKS
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["database"]["vendor"] == connection.vendor
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readiness_is_never_throttled_or_cached(client, settings):
    settings.AGENCY_API_RATE = "1/m"
    statuses = {client.get("/readyz").status_code for _ in range(20)}
    assert statuses == {200}


# PostgreSQL only: the suite's SQLite database lives in memory and would not survive the
# connection being closed.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_that_does_not_answer_fails_readiness(client):
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    try:
        response = client.get("/readyz")
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"] == {
        "ok": False,
        "error": "OperationalError",
        "ms": body["checks"]["database"]["ms"],
    }
    # The liveness probe does not care.
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_a_broker_that_does_not_answer_fails_readiness(client, settings):
    settings.CELERY_BROKER_URL = "redis://:a-password@127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["ok"] is False and broker["error"] == "ConnectionError"
    # No message, so no host, user or password in the body.
    assert "a-password" not in response.content.decode()


@pytest.mark.django_db
def test_the_filesystem_broker_needs_its_folder(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path)}
    assert client.get("/readyz").json()["checks"]["broker"] == {
        "ok": True,
        "transport": "filesystem",
        "ms": pytest.approx(0, abs=100),
    }
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "gone")}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


@pytest.mark.django_db
def test_a_cache_that_does_not_answer_does_not_fail_readiness(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["cache"]["ok"] is False


@pytest.mark.django_db
def test_an_unreadable_signing_key_fails_readiness(client, settings):
    settings.AUDIT_LOG_SIGNING_KEY = "PRIVATE+KEY+not-a-key"
    response = client.get("/readyz")
    assert response.status_code == 503
    key = response.json()["checks"]["signing_key"]
    assert key["ok"] is False and "PRIVATE" not in response.content.decode()


@pytest.mark.django_db
def test_the_sequencer_check_allows_an_empty_and_an_idle_log(client, settings):
    settings.HEALTH_SEQUENCER_MAX_AGE = 60
    t0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(t0, tick=False):
        assert client.get("/readyz").json()["checks"]["sequencer"]["ok"] is True  # empty log
        ledger_append(event_type=TEST_EVENT, fields={"outcome": "provided"})
        ledger_integrate()
    # A quiet night: nothing waits, the checkpoint is hours old, all is well.
    with time_machine.travel(t0 + dt.timedelta(hours=8), tick=False):
        sequencer = client.get("/readyz").json()["checks"]["sequencer"]
        assert sequencer["ok"] is True and sequencer["waiting"] is False
        assert sequencer["checkpoint_age_s"] == 8 * 3600


@pytest.mark.django_db
def test_a_sequencer_that_falls_behind_fails_readiness(client, settings):
    settings.HEALTH_SEQUENCER_MAX_AGE = 60
    t0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(t0, tick=False):
        ledger_append(event_type=TEST_EVENT, fields={"outcome": "provided"})
        ledger_integrate()
    with time_machine.travel(t0 + dt.timedelta(seconds=30), tick=False):
        # The sequencer is stopped: this one waits.
        ledger_append(event_type=TEST_EVENT, fields={"outcome": "provided"})
        assert client.get("/readyz").status_code == 200  # within the bound
    with time_machine.travel(t0 + dt.timedelta(seconds=61), tick=False):
        response = client.get("/readyz")
        assert response.status_code == 503
        sequencer = response.json()["checks"]["sequencer"]
        assert sequencer["ok"] is False and sequencer["waiting"] is True
        assert sequencer["checkpoint_age_s"] == 61
        ledger_integrate()  # the sequencer catches up
        assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_the_readiness_body_holds_no_personal_data(client, world):
    text = client.get("/readyz").content.decode()
    for value in (world.person.family_name, world.person.address, "000000000012345"):
        assert value not in text
    body = json.loads(text)
    allowed = {"ok", "ms", "error", "vendor", "transport", "waiting", "checkpoint_age_s"}
    allowed |= {"max_age_s", "key_id", "critical"}
    for check in body["checks"].values():
        assert set(check) <= allowed


def test_the_probe_script_exits_by_status(live_server, db):
    probe = _probe_module()
    assert probe.main(["healthcheck", f"{live_server.url}/healthz"]) == 0
    assert probe.main(["healthcheck", f"{live_server.url}/no-such-page"]) == 1
    assert probe.main(["healthcheck", "http://127.0.0.1:1/readyz"]) == 1
    assert probe.main(["healthcheck", "file:///etc/passwd"]) == 2


@pytest.mark.django_db
def test_a_sequencer_that_never_ran_fails_once_the_first_entry_waited_too_long(client, settings):
    settings.HEALTH_SEQUENCER_MAX_AGE = 60
    t0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(t0, tick=False):
        ledger_append(event_type=TEST_EVENT, fields={"outcome": "provided"})
    with time_machine.travel(t0 + dt.timedelta(seconds=59), tick=False):
        assert client.get("/readyz").status_code == 200
    with time_machine.travel(t0 + dt.timedelta(seconds=90), tick=False):
        # Steady traffic keeps the newest entry young; the wait counts from the first.
        ledger_append(event_type=TEST_EVENT, fields={"outcome": "provided"})
        sequencer = client.get("/readyz").json()["checks"]["sequencer"]
        assert sequencer["ok"] is False and sequencer["checkpoint_age_s"] is None
