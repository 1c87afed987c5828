"""Messages written in both languages: the network's ({"code", "ja", "en"}), and the
"日本語 (English)" messages of the services' errors, shown in the page's language."""

from __future__ import annotations

import re

from django import template
from django.utils.translation import get_language

from agencies.models import LinkageRequest
from agencies.network.outcomes import LinkageOutcome

register = template.Library()

_BILINGUAL = re.compile(r"^(?P<ja>.+?) \((?P<en>[^()]+)\)$")


def pick_language(label: object, language: str | None = None) -> str:
    """The part of a "日本語 (English)" label for language (the active one by default);
    a label without an English part is returned whole."""
    text = str(label)
    found = _BILINGUAL.match(text)
    if found is None:
        return text
    language = language or get_language() or "ja"
    return found["en"] if language.startswith("en") else found["ja"]


@register.filter
def in_language(label: object) -> str:
    """A "日本語 (English)" label in the active language: {{ x.get_status_display|in_language }}
    (the dashboard's templates use it; it went missing when the staff pages moved to gettext)."""
    return pick_language(label)


@register.filter
def message_in_language(message: dict[str, str] | None) -> str:
    """A network message ({"code", "ja", "en"}) in the active language."""
    if not message:
        return ""
    language = get_language() or "ja"
    return message["en"] if language.startswith("en") else message["ja"]


@register.filter
def refusal_message(request: LinkageRequest) -> str:
    """The network's message on a request, as its requester sees it, in the active language."""
    return message_in_language(LinkageOutcome(request).message)
