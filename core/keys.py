"""Secrets for a demo install: read from the environment, else generated once into var/keys/.

Production deployments set every key in the environment (see deploy/env.example). The demo
generates them on first start so that nothing secret is ever committed; the files are created
with O_EXCL so that web, worker and beat starting together agree on one value.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path


def _write_once(path: Path, make: Callable[[], str]) -> str:
    """Create path holding make() unless it exists; return what the file holds.

    The value is written to a private temporary file and hard-linked into place, which either
    succeeds whole or fails because another process got there first: never a half-written key.
    """
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", text=True)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        os.chmod(tmp_name, 0o600)
        # If another process won the race, its value is the one read back below.
        with contextlib.suppress(FileExistsError):
            os.link(tmp_name, path)
    finally:
        os.unlink(tmp_name)
    return path.read_text().strip()


def secret_from_env_or_file(env_name: str, path: Path, make: Callable[[], str] | None) -> str:
    """Return the secret named env_name, or the content of the file named by env_name_FILE, or
    the content of path, creating it with make().

    With make None the secret is optional: path is read when it exists, and nothing is created;
    "" means it was not given (LEDGER_SUBJECT_KEY, which defaults to a derivation).
    """
    value = os.environ.get(env_name, "").strip()
    if value:
        return value
    file_env = os.environ.get(env_name + "_FILE", "").strip()
    if file_env:
        return Path(file_env).read_text().strip()
    if make is None:
        return path.read_text().strip() if path.exists() else ""
    return _write_once(path, make)


@cache
def decode_key(text: str, name: str, minimum: int = 32) -> bytes:
    """The bytes of a base64 key setting, or ImproperlyConfigured naming the setting."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ImproperlyConfigured(f"{name} is not valid base64") from None
    if len(raw) < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum} bytes")
    return raw


def random_b64_key(nbytes: int = 32) -> str:
    """A fresh random key as standard base64."""
    return base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def random_keyring_line() -> str:
    """A one-key keyring in the 'key_id:base64' form used by MYNUMBER_ENCRYPTION_KEYS."""
    return f"k{secrets.token_hex(4)}:{random_b64_key()}"
