"""Health endpoints for load balancers, compose and systemd: /healthz (liveness) and /readyz
(readiness). docs/deploy.md says who calls which.

- /healthz answers 200 as soon as the process can run Python: it touches no database, broker
  or cache, so a database outage never makes a supervisor restart healthy web workers.
- /readyz checks what a request needs and answers 200 when every check passes, 503 otherwise:
  the database answers; the Celery broker answers (Redis PING, or the filesystem broker's
  folder is writable); the ledger's sequencer is keeping up (no entry has been waiting for
  integration while the latest checkpoint is older than HEALTH_SEQUENCER_MAX_AGE seconds;
  an empty or idle log is fine); the log signing key is loaded. The shared cache is reported
  but never fails the check: every user of it fails open.

Both are answered by HealthCheckMiddleware, first in MIDDLEWARE, before anything else looks
at the request: no host check (a probe on 127.0.0.1 works whatever DJANGO_ALLOWED_HOSTS
says), no session, no CSRF, no rate limit, and `Cache-Control: no-store`. The bodies hold
check names, booleans, timings and exception class names, never a message (an error message
can name hosts and users) and never personal data; details go to the log.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.utils import timezone

logger = logging.getLogger("yaritori.health")

LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
# Seconds a broker may take to answer a probe: a probe must finish well within the callers'
# own timeouts (compose: 5 s).
_BROKER_TIMEOUT = 1.0

Check = dict[str, Any]


def _timed(check: Callable[[], Check]) -> Check:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # a failed check is an answer, not a 500
        logger.warning("readiness check %s failed", check.__name__, exc_info=True)
        result = {"ok": False, "error": type(exc).__name__}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def check_database() -> Check:
    """The default database answers a query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        # Never leave a broken connection to the worker's next request.
        connection.close()
        raise
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> Check:
    """The Celery broker answers: Redis to PING, the filesystem broker's folder is writable."""
    url: str = settings.CELERY_BROKER_URL
    scheme = url.split("://", 1)[0].lower()
    if scheme == "filesystem":
        folder = str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        ok = os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)
        return {"ok": ok, "transport": "filesystem"}
    if scheme in ("redis", "rediss"):
        import redis

        client = redis.Redis.from_url(
            url, socket_timeout=_BROKER_TIMEOUT, socket_connect_timeout=_BROKER_TIMEOUT
        )
        try:
            return {"ok": bool(client.ping()), "transport": "redis"}
        finally:
            client.close()
    if scheme == "memory":
        return {"ok": True, "transport": "memory"}
    from kombu import Connection

    with Connection(url, connect_timeout=_BROKER_TIMEOUT) as broker:
        broker.ensure_connection(max_retries=1, timeout=int(_BROKER_TIMEOUT))
    return {"ok": True, "transport": scheme}


def check_sequencer() -> Check:
    """The sequencer keeps up: the newest appended entry is integrated, or the latest
    checkpoint (before the first one, the first entry) is younger than
    HEALTH_SEQUENCER_MAX_AGE seconds.

    The sequencer signs a checkpoint only when there is something new, so a checkpoint's age
    alone would raise an alarm every quiet night; it counts only while an entry waits. A few
    indexed look-ups, whatever the size of the log.
    """
    from audit.models import Checkpoint, LedgerEntry, LedgerIntake

    threshold: float = settings.HEALTH_SEQUENCER_MAX_AGE
    now = timezone.now()
    newest = LedgerIntake.objects.order_by("-id").values_list("id", flat=True).first()
    waiting = newest is not None and not LedgerEntry.objects.filter(intake_id=newest).exists()
    signed_at = Checkpoint.objects.order_by("-size").values_list("signed_at", flat=True).first()
    age = None if signed_at is None else (now - signed_at).total_seconds()
    ok = True
    if waiting:
        since = signed_at
        if since is None:  # never integrated anything: waiting since the first entry
            since = LedgerIntake.objects.order_by("id").values_list("created_at", flat=True)[0]
        ok = (now - since).total_seconds() <= threshold
    return {
        "ok": ok,
        "waiting": waiting,
        "checkpoint_age_s": None if age is None else round(age, 1),
        "max_age_s": threshold,
    }


def check_signing_key() -> Check:
    """The log's signing key is loaded and parses; its public key id is shown."""
    from audit.ledger import log_signer

    signer = log_signer()
    return {"ok": True, "key_id": signer.key_id.hex()}


def check_cache() -> Check:
    """The shared cache answers (informative: its users fail open, so it never fails /readyz)."""
    from django.core.cache import cache

    key = "yaritori:readyz"
    cache.set(key, 1, timeout=5)
    return {"ok": cache.get(key) == 1}


# name -> (check, whether its failure makes the process not ready)
READINESS_CHECKS: dict[str, tuple[Callable[[], Check], bool]] = {
    "database": (check_database, True),
    "broker": (check_broker, True),
    "sequencer": (check_sequencer, True),
    "signing_key": (check_signing_key, True),
    "cache": (check_cache, False),
}


def readiness() -> tuple[bool, dict[str, Check]]:
    """Run every readiness check; whether all critical ones passed, and each one's result
    (a non-critical one says so with "critical": false)."""
    results: dict[str, Check] = {}
    ready = True
    for name, (check, critical) in READINESS_CHECKS.items():
        results[name] = _timed(check)
        if not critical:
            results[name]["critical"] = False
        elif not results[name]["ok"]:
            ready = False
    return ready, results


def _answer(body: dict[str, Any], status: int) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answers GET and HEAD on /healthz and /readyz before any other middleware runs (see the
    module's doc); every other request passes through untouched. Goes first in MIDDLEWARE."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        if path not in (LIVENESS_PATH, READINESS_PATH) or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        if path == LIVENESS_PATH:
            return _answer({"status": "ok"}, 200)
        ready, checks = readiness()
        if not ready:
            failed = sorted(name for name, r in checks.items() if not r["ok"])
            logger.warning("not ready: %s", ", ".join(failed))
        body = {"status": "ok" if ready else "fail", "checks": checks}
        return _answer(body, 200 if ready else 503)
