"""Template context for portal pages: the key texts that the page pins for its scripts."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def _log_key() -> str:
    from portal.keys import pinned_keys

    return next(k.text for k in pinned_keys() if k.role == "log")


def _witness_keys() -> str:
    from portal.keys import pinned_keys

    return " ".join(k.text for k in pinned_keys() if k.role == "witness")


def pinned_key_texts(request: HttpRequest) -> dict[str, object]:
    """log_key_text and witness_key_texts (space-separated), read only by pages that use them."""
    return {
        "log_key_text": SimpleLazyObject(_log_key),
        "witness_key_texts": SimpleLazyObject(_witness_keys),
    }
