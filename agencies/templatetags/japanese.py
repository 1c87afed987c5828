"""Template filters that write values as a Japanese municipal system does (agencies.display):
{{ person.date_of_birth|birth_date }}, {{ number|masked }}, {{ flag|yes_no }},
{{ institution|official_name }}."""

from __future__ import annotations

import datetime as dt

from django import template

from agencies import display
from agencies.models import Institution

register = template.Library()


@register.filter
def birth_date(day: dt.date | None) -> str:
    return display.birth_date(day)


@register.filter
def masked(number: str | None) -> str:
    return display.masked_number(number)


@register.filter
def yes_no(flag: object) -> str:
    return display.yes_no(flag)


@register.filter
def official_name(institution: Institution | None) -> str:
    return display.official_name(institution) if institution is not None else "—"


@register.filter
def answer_value(value: object) -> object:
    """A value of a provided answer (副本) as a form writes it: flags as あり／なし."""
    if isinstance(value, bool):
        return display.yes_no(value)
    return "—" if value is None else value
