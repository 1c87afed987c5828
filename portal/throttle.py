"""The login throttle: attempts per card serial and per client address in a window, counted
in the shared cache (settings.CACHES["default"]).

It fails open: if the cache is down, every attempt is allowed and a warning is logged. The
card's own lockout (three wrong PINs, portal.services) lives in the database and does not
depend on the cache, so an outage of the cache weakens only this second line.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)


def _key(scope: str, value: str) -> str:
    # Hashed: the cache never holds a card serial or an address in clear.
    digest = hashlib.sha256(f"{scope}|{value}".encode()).hexdigest()[:32]
    return f"portal:login:{scope}:{digest}"


def _hit(key: str, limit: int, window: int) -> bool:
    try:
        cache.add(key, 0, timeout=window)
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr: a new window
        cache.set(key, 1, timeout=window)
        count = 1
    except Exception:  # the cache is down: fail open, the card's lockout still holds
        log.warning("portal login throttle: cache unavailable, attempt allowed")
        return True
    return count <= limit


def login_attempt_allowed(*, serial: str, address: str) -> bool:
    """Count one login attempt for the card serial and for the client address; False when
    either is over its limit in the current window (the attempt must then not be checked)."""
    window = settings.PORTAL_LOGIN_WINDOW
    by_card = _hit(_key("card", serial), settings.PORTAL_LOGIN_LIMIT_PER_CARD, window)
    by_address = _hit(_key("addr", address), settings.PORTAL_LOGIN_LIMIT_PER_ADDRESS, window)
    return by_card and by_address
