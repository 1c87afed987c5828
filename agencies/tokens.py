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
OPERATOR_CREDENTIAL_PREFIX = "yo_"


def derive_institution_token(*, institution_code: str, person_public_id: str) -> str:
    """The 符号 of a person at an institution: 26 base32 characters, stable for the key."""
    digest = hmac.new(
        decode_key(settings.NETWORK_TOKEN_KEY, "NETWORK_TOKEN_KEY"),
        f"token/v1|{institution_code}|{person_public_id}".encode(),
        hashlib.sha256,
    ).digest()
    return base64.b32encode(digest).decode("ascii")[:TOKEN_LENGTH]


def _new_secret(prefix: str) -> tuple[str, str, str]:
    body = secrets.token_urlsafe(32)
    secret = prefix + body
    return secret, body[:8], secret_hash(secret)


def new_api_key() -> tuple[str, str, str]:
    """A fresh agency API key: (key shown once, its 8-character prefix, its SHA-256 hex)."""
    return _new_secret(API_KEY_PREFIX)


def new_operator_credential() -> tuple[str, str, str]:
    """A fresh operator credential: (credential shown once, its 8-character prefix, its
    SHA-256 hex)."""
    return _new_secret(OPERATOR_CREDENTIAL_PREFIX)


def secret_hash(secret: str) -> str:
    """SHA-256 hex of an API key or an operator credential, as stored (both are 256 random
    bits, so a slow hash would add nothing)."""
    return hashlib.sha256(secret.encode()).hexdigest()
