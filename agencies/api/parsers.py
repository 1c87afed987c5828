"""Bounded JSON for the APIs: a body's size and nesting are checked before any work is done.

DRF's JSONParser reads whatever arrives and hands it to the json module, whose recursion ends
in a RecursionError (a 500) for a few thousand nested brackets, and which builds any document
however large. These limits are far above what any request of the agency API needs (a case
of twenty members is about 2 KB, two levels deep).
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 8

# Strings are taken out before brackets are counted: a bracket inside a string nests nothing.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth_exceeds(text: str, limit: int) -> bool:
    """Whether the JSON text nests arrays and objects deeper than limit (counted without
    parsing: strings are skipped, brackets counted)."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class BoundedJSONParser(JSONParser):
    """JSONParser with a size limit (MAX_BODY_BYTES) and a nesting limit (MAX_DEPTH): a body
    beyond either is a 400 with a message, and is never parsed."""

    max_bytes = MAX_BODY_BYTES
    max_depth = MAX_DEPTH

    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        raw = stream.read(self.max_bytes + 1) if stream is not None else b""
        if len(raw) > self.max_bytes:
            raise ParseError(f"the request body is larger than {self.max_bytes} bytes")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(f"the request body is not {encoding} text") from None
        if json_depth_exceeds(text, self.max_depth):
            raise ParseError(f"JSON nested deeper than {self.max_depth} levels")
        return super().parse(io.BytesIO(raw), media_type, parser_context)
