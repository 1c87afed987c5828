"""Reading a file named on the command line, for the audit commands."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError


def read_text_option(path: Path | None) -> str | None:
    """The file's text (UTF-8), None when no file was named; CommandError when unreadable."""
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise CommandError(f"cannot read {path}: {reason}") from None
