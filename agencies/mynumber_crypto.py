"""Encryption at rest and the blind index for 個人番号 (My Number).

The number is stored only as AES-256-GCM ciphertext, bound (as associated data) to the person's
public id and the key id, so a ciphertext copied onto another row does not decrypt. Lookups go
through a keyed blind index, HMAC-SHA-256 with a key of its own, so equality search never needs
the clear number. The keyring comes from settings.MYNUMBER_ENCRYPTION_KEYS ("id:base64,...");
the first key encrypts, every listed key decrypts, which is what makes rotation possible.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.keys import decode_key

_AAD_PREFIX = b"yaritori/my-number/v1|"
_NONCE_BYTES = 12


class MyNumberDecryptionError(Exception):
    """The ciphertext does not decrypt under the named key (tampered, moved, or key missing)."""


@dataclass(frozen=True)
class Keyring:
    """AES-GCM keys by id; current_id names the key that encrypts."""

    keys: dict[str, bytes]
    current_id: str

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """Parse 'id:base64,id:base64' (newlines also separate); the first entry is current."""
        entries = [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
        if not entries:
            raise ImproperlyConfigured("MYNUMBER_ENCRYPTION_KEYS is empty")
        keys: dict[str, bytes] = {}
        for entry in entries:
            key_id, sep, b64 = entry.partition(":")
            if not sep or not key_id or len(key_id) > 16:
                raise ImproperlyConfigured(
                    "MYNUMBER_ENCRYPTION_KEYS entries must look like 'id:base64' (id <= 16 chars)"
                )
            raw = base64.b64decode(b64, validate=True)
            if len(raw) != 32:
                raise ImproperlyConfigured(f"My Number key {key_id!r} must be 32 bytes")
            if key_id in keys:
                raise ImproperlyConfigured(f"My Number key id {key_id!r} is listed twice")
            keys[key_id] = raw
        return cls(keys=keys, current_id=entries[0].partition(":")[0])


@cache
def _keyring_for(text: str) -> Keyring:
    return Keyring.parse(text)


def current_keyring() -> Keyring:
    """The keyring configured in settings (parsed once per distinct value)."""
    return _keyring_for(settings.MYNUMBER_ENCRYPTION_KEYS)


def _aad(person_public_id: str, key_id: str) -> bytes:
    return _AAD_PREFIX + person_public_id.encode() + b"|" + key_id.encode()


def encrypt_my_number(number: str, *, person_public_id: str) -> tuple[str, bytes]:
    """Encrypt a normalised 12-digit number; returns (key_id, nonce || ciphertext || tag)."""
    ring = current_keyring()
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(ring.keys[ring.current_id]).encrypt(
        nonce, number.encode("ascii"), _aad(person_public_id, ring.current_id)
    )
    return ring.current_id, nonce + sealed


def decrypt_my_number(
    key_id: str, blob: bytes | memoryview | None, *, person_public_id: str
) -> str:
    """Decrypt what encrypt_my_number produced; raises MyNumberDecryptionError otherwise."""
    ring = current_keyring()
    key = ring.keys.get(key_id)
    if key is None:
        raise MyNumberDecryptionError(f"key {key_id!r} is not in the keyring")
    if blob is None:
        raise MyNumberDecryptionError("no ciphertext stored")
    blob = bytes(blob)
    try:
        clear = AESGCM(key).decrypt(
            blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _aad(person_public_id, key_id)
        )
    except Exception as exc:  # InvalidTag; never chain anything that could carry data
        raise MyNumberDecryptionError("ciphertext failed authentication") from exc
    return clear.decode("ascii")


def blind_index(number: str) -> str:
    """Keyed HMAC-SHA-256 of a normalised My Number, hex; equal numbers give equal indexes."""
    key = decode_key(settings.MYNUMBER_BLIND_INDEX_KEY, "MYNUMBER_BLIND_INDEX_KEY")
    return hmac.new(key, b"my-number|" + number.encode("ascii"), hashlib.sha256).hexdigest()
