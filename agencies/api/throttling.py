"""Rate limits of the agency API: requests per agency system (its key), counted in the shared
cache, answered 429 with Retry-After beyond the limit.

A fixed window per system: one atomic increment a request, whatever the limit (DRF's
SimpleRateThrottle keeps the time of every request in the window and rewrites that list on
each one). The cache is a convenience, never a dependency: when it cannot be reached the
request goes through and the failure is logged, so an outage of Redis never stops linkage.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

logger = logging.getLogger(__name__)
_LOG_EVERY = 60.0  # seconds between two warnings of one outage, per process
_last_outage_log = [0.0]

_PERIODS = {"s": 1, "m": 60, "h": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """'100/s', '6000/m' or '200000/h' as (requests, seconds); ValueError otherwise."""
    count, _, period = rate.partition("/")
    seconds = _PERIODS.get(period[:1])
    if not count.isdigit() or int(count) < 1 or seconds is None:
        raise ValueError(f"a rate is N/s, N/m or N/h with N >= 1, not {rate!r}")
    return int(count), seconds


class AgencySystemRateThrottle(BaseThrottle):
    """At most settings.AGENCY_API_RATE requests per agency system and window."""

    def __init__(self) -> None:
        self.limit, self.window = parse_rate(settings.AGENCY_API_RATE)
        self._wait = 0.0

    def allow_request(self, request: Request, view: APIView) -> bool:
        system = getattr(request.user, "system", None)
        if system is None:
            return True  # not authenticated: the view refuses it anyway
        now = time.time()
        window_start = math.floor(now / self.window) * self.window
        key = f"throttle:agency:{system.pk}:{window_start}"
        try:
            cache = caches["default"]
            # add() is atomic and sets the expiry once; incr() is atomic after it.
            cache.add(key, 0, timeout=self.window + 1)
            count = cache.incr(key)
        except Exception:  # any cache backend's failure: fail open, never stop linkage
            if now - _last_outage_log[0] > _LOG_EVERY:
                _last_outage_log[0] = now
                logger.warning(
                    "rate limits not applied: the cache is unreachable (logged once a minute)",
                    exc_info=True,
                )
            return True
        if count <= self.limit:
            return True
        self._wait = window_start + self.window - now
        logger.warning(
            "agency system %s over its rate limit (%s/%ss)", system.pk, self.limit, self.window
        )
        return False

    def wait(self) -> float | None:
        return max(self._wait, 1.0)
