"""The shared cache (Redis in production, CACHE_URL) is a convenience: with it unreachable,
every page and API answers as usual (the agency API's rate limiter fails open, nothing else
depends on it) and readiness says so without failing."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from tests.support.factories import request_body
from tests.support.world import agency_client

DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


@pytest.fixture
def dead_cache(settings):
    settings.CACHES = DEAD_REDIS
    with pytest.raises(Exception, match=r"[Cc]onnect"):
        caches["default"].get("probe")  # really unreachable


def test_every_kind_of_answer_survives_a_dead_cache(world, dead_cache, client):
    api = agency_client(world.clerk)
    response = api.post("/api/agency/requests", request_body(), format="json")
    assert response.status_code == 201, response.content
    assert client.get("/staff/login/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["cache"] == {
        "ok": False,
        "error": ready.json()["checks"]["cache"]["error"],
        "ms": ready.json()["checks"]["cache"]["ms"],
        "critical": False,
    }


def test_the_settings_give_redis_short_timeouts(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import django; django.setup(); from django.conf import settings; "
        "c = settings.CACHES['default']; print(c['BACKEND'], c['LOCATION'], "
        "c['OPTIONS']['socket_timeout'], c['OPTIONS']['socket_connect_timeout'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        YARITORI_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="config.settings",
        CACHE_URL="redis://:pw@redis:6379/1",
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://:pw@redis:6379/1",
        "0.5",
        "0.5",
    ]
