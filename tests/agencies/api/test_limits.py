"""Bounded input and rate limits of the agency API: each limit answered before any work, with a
status and a message, and a cache outage never stopping a request."""

import datetime as dt
import json
import logging

import pytest
import time_machine
from django.core.cache import caches
from django.test import override_settings

from agencies.api.parsers import MAX_BODY_BYTES, MAX_DEPTH, json_depth_exceeds
from agencies.models import MAX_CASE_MEMBERS, Case, LinkageRequest
from tests.support.factories import request_body as body

URL = "/api/agency/requests"


def post_raw(client, raw: bytes, url=URL):
    return client.generic("POST", url, raw, content_type="application/json")


@pytest.fixture(autouse=True)
def _fresh_counters():
    caches["default"].clear()
    yield
    caches["default"].clear()


def test_a_body_over_the_size_limit_is_refused_unread(world, api):
    padding = "x" * MAX_BODY_BYTES
    response = post_raw(api["mayor"], json.dumps({**body(), "terminal": padding}).encode())
    assert response.status_code == 400
    assert f"larger than {MAX_BODY_BYTES} bytes" in response.json()["detail"]
    assert LinkageRequest.objects.count() == 0


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 200_000])
def test_json_nested_too_deep_is_a_400_not_a_crash(world, api, depth):
    raw = ("[" * depth + "]" * depth).encode()
    if len(raw) > MAX_BODY_BYTES:
        raw = ("[" * (MAX_BODY_BYTES // 2)).encode()  # as deep as the size limit allows
    response = post_raw(api["mayor"], raw)
    assert response.status_code == 400
    assert "deeper" in response.json()["detail"] or "larger" in response.json()["detail"]


def test_brackets_inside_strings_nest_nothing(world, api):
    assert not json_depth_exceeds(json.dumps({"a": "[" * 100 + '\\"{' * 50}), MAX_DEPTH)
    assert json_depth_exceeds(json.dumps([[[[[[[[[[]]]]]]]]]]), MAX_DEPTH)
    response = api["mayor"].post(URL, body(terminal="T-" + "[" * 20), format="json")
    assert response.status_code == 400  # a bad terminal, not a nesting error
    assert "terminal" in response.json()


def test_a_case_with_too_many_members_is_refused_before_any_lookup(world, api):
    members = [{"addressee_number": f"{n:015d}", "role": "世帯員"} for n in range(MAX_CASE_MEMBERS)]
    response = api["mayor"].post(
        "/api/agency/cases",
        {
            "affair": world.affair.code,
            "reference": "R8-9",
            "applicant_addressee_number": "000000000012345",
            "members": members,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "members" in response.json()
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    "override",
    [
        {"case": "R" * 41},
        {"terminal": "T" * 33},
        {"affair": "JT" + "0" * 20},
        {"my_number": "1" * 41, "addressee_number": None},
        {"addressee_number": "1" * 16},
    ],
)
def test_every_field_has_a_length_limit(world, api, override):
    response = api["mayor"].post(URL, body(**override), format="json")
    assert response.status_code == 400
    assert set(response.json()) & set(override)
    assert LinkageRequest.objects.count() == 0


@override_settings(AGENCY_API_RATE="3/m")
def test_each_system_is_limited_on_its_own_with_a_retry_after(world, api):
    # The window is a fixed minute: the four requests must fall in one, not across a boundary.
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0, 0, tzinfo=dt.UTC), tick=True):
        _limited_on_its_own(api)


def _limited_on_its_own(api):
    for _ in range(3):
        assert api["mayor"].post(URL, body(), format="json").status_code == 201
    refused = api["mayor"].post(URL, body(), format="json")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert LinkageRequest.objects.count() == 3
    # Another institution's system has its own count.
    assert api["board"].get("/api/agency/held").status_code == 200


@override_settings(AGENCY_API_RATE="3/m")
def test_a_broken_cache_lets_requests_through_and_says_so(world, api, monkeypatch, caplog):
    def unreachable(*args, **kwargs):
        raise ConnectionError("cache server down")

    monkeypatch.setattr(caches["default"], "incr", unreachable)
    with caplog.at_level(logging.WARNING, logger="agencies.api.throttling"):
        statuses = [api["mayor"].post(URL, body(), format="json").status_code for _ in range(5)]
    assert statuses == [201] * 5
    assert "cache is unreachable" in caplog.text


@pytest.mark.redis
@override_settings(
    AGENCY_API_RATE="3/m",
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # Nothing listens on port 9: Redis is "down".
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    },
)
def test_a_redis_outage_never_stops_a_linkage_request(world, api):
    caches["default"].close()
    statuses = [api["mayor"].post(URL, body(), format="json").status_code for _ in range(4)]
    assert statuses == [201] * 4


@pytest.mark.redis
def test_the_limit_is_shared_by_every_process_through_redis(world, api, settings):
    """With the shared cache every worker counts against one limit: the count lives in Redis,
    where any process sees it (here read back by a connection of its own)."""
    import os

    url = os.environ["CELERY_BROKER_URL"].rsplit("/", 1)[0] + "/11"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    settings.AGENCY_API_RATE = "3/m"
    caches["default"].clear()
    from tests.support.world import agency_client

    second_worker = agency_client(world.clerk, system_key=api["mayor"].system_key)
    statuses = [
        client.post(URL, body(), format="json").status_code
        for client in (api["mayor"], second_worker, api["mayor"], second_worker)
    ]
    assert statuses == [201, 201, 201, 429]
    import redis

    counters = redis.Redis.from_url(url).keys("*throttle:agency:*")
    assert len(counters) == 1
    caches["default"].clear()
