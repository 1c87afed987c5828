"""Reference data by code, cached per process: affairs (JT), items (TM) and institutions.

These tables are small and change by ordinance or notification, yet every API request names
three of them; a minute's cache (cleared at once by any change made in this process) saves
three queries a request.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models

from agencies.models import Affair, InformationItem, Institution
from core.cache import ProcessCache

TTL = 60.0
M = TypeVar("M", Affair, InformationItem, Institution)


def _rows_by_code(model: type[models.Model]) -> dict[str, models.Model]:
    return {obj.code: obj for obj in model._default_manager.all()}  # type: ignore[attr-defined]


_rows: ProcessCache[type[models.Model], dict[str, models.Model]] = ProcessCache(
    "reference-codes", ttl=TTL, load=_rows_by_code
)
_rows.clear_on_change(Affair, InformationItem, Institution)


def by_code(model: type[M], code: str) -> M | None:
    """The row of model with this code, or None."""
    rows = _rows.get(model)
    assert rows is not None  # a dict is always loaded
    return rows.get(code)  # type: ignore[return-value]


def clear() -> None:
    """Forget every cached row in this process."""
    _rows.clear()
