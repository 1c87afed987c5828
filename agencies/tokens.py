"""Derivation of 符号 (institution tokens) and agency API keys.

Only the network service holds NETWORK_TOKEN_KEY. A 符号 is an HMAC of the institution code and
the person's internal public id (never the My Number), so one institution's 符号 reveals
nothing about another's and nobody without the key can compute either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.conf import settings

from core.keys import decode_key

TOKEN_LENGTH = 26
API_KEY_PREFIX = "yk_"


def derive_institution_token(*, institution_code: str, person_public_id: str) -> str:
    """The 符号 of a person at an institution: 26 base32 characters, stable for the key."""
    digest = hmac.new(
        decode_key(settings.NETWORK_TOKEN_KEY, "NETWORK_TOKEN_KEY"),
        f"token/v1|{institution_code}|{person_public_id}".encode(),
        hashlib.sha256,
    ).digest()
    return base64.b32encode(digest).decode("ascii")[:TOKEN_LENGTH]


def new_api_key() -> tuple[str, str, str]:
    """A fresh agency API key: (key shown once, its 8-character prefix, its SHA-256 hex)."""
    body = secrets.token_urlsafe(32)
    key = API_KEY_PREFIX + body
    return key, body[:8], api_key_hash(key)


def api_key_hash(key: str) -> str:
    """SHA-256 hex of an API key, as stored in AgencySystem.key_hash."""
    return hashlib.sha256(key.encode()).hexdigest()
