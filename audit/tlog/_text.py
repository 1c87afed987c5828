"""Small strict text helpers shared by the note, checkpoint and receipt parsers.

Strictness matters here: if two different strings could decode to the same bytes or number, a
signed text could be changed without changing what it means to one reader and what it means to
another. So only one spelling is accepted for each value.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

MAX_UINT64: Final = 2**64 - 1

_DECIMAL: Final = re.compile(r"(?:0|[1-9][0-9]*)\Z", re.ASCII)


def b64encode(data: bytes) -> str:
    """Standard base64 (RFC 4648 section 4) with padding."""
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: str) -> bytes | None:
    """Decode standard padded base64, or return None unless text is the canonical encoding.

    Canonical means that encoding the result again gives back exactly text: no whitespace, no
    missing padding, no stray bits in the last character.
    """
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        return None
    if b64encode(data) != text:
        return None
    return data


def parse_decimal(text: str, maximum: int = MAX_UINT64) -> int | None:
    """Parse an ASCII decimal with no sign and no leading zeros (except "0" itself).

    Returns None if text is spelled any other way or the value exceeds maximum.
    """
    if not _DECIMAL.match(text):
        return None
    value = int(text)
    if value > maximum:
        return None
    return value


def has_control_character(text: str) -> bool:
    """True if text holds an ASCII control character (below U+0020) other than newline.

    DEL (U+007F) is allowed, as in the signed-note specification which forbids only those below
    U+0020.
    """
    return any(ch < " " and ch != "\n" for ch in text)
