"""Who made a change, as the ledger records it: never a name."""

from __future__ import annotations

import hashlib
import hmac
from functools import cache
from typing import Any

from django.conf import settings

from core.keys import decode_key


@cache
def _actor_key(network_key: str) -> bytes:
    # Derived for this use alone, so it equals neither a 符号 nor a subject pseudonym key.
    return hmac.new(
        decode_key(network_key, "NETWORK_TOKEN_KEY"), b"yaritori/actor/v1", hashlib.sha256
    ).digest()


def actor_pseudonym(user: Any) -> str:
    """The ledger's `actor` for a user: their staff pseudonym when they are staff, else AU +
    16 hex digits, a keyed hash of the user's id (stable, and meaningless outside)."""
    staff = getattr(user, "staff_member", None)
    if staff is not None:
        return str(staff.audit_pseudonym)
    digest = hmac.new(
        _actor_key(settings.NETWORK_TOKEN_KEY), str(user.pk).encode(), hashlib.sha256
    ).hexdigest()
    return "AU" + digest[:16].upper()
