"""Reference data by code, cached per process: affairs (JT), items (TM) and institutions.

These tables are small and change by ordinance or notification, yet every API request names
three of them; a minute's cache (cleared at once by any change made in this process) saves
three queries a request.
"""

from __future__ import annotations

import time
from typing import TypeVar

from django.db import models
from django.db.models.signals import post_delete, post_save

from agencies.models import Affair, InformationItem, Institution

TTL = 60.0
M = TypeVar("M", Affair, InformationItem, Institution)
_cache: dict[type[models.Model], tuple[float, dict[str, models.Model]]] = {}


def by_code(model: type[M], code: str) -> M | None:
    """The row of model with this code, or None."""
    loaded, rows = _cache.get(model, (0.0, {}))
    now = time.monotonic()
    if now - loaded > TTL:
        rows = {obj.code: obj for obj in model.objects.all()}
        _cache[model] = (now, rows)
    return rows.get(code)  # type: ignore[return-value]


def clear(sender: type[models.Model], **_: object) -> None:
    """Forget the cached rows of sender (connected to saves and deletes)."""
    _cache.pop(sender, None)


for _model in (Affair, InformationItem, Institution):
    post_save.connect(clear, sender=_model, dispatch_uid=f"reference-save-{_model.__name__}")
    post_delete.connect(clear, sender=_model, dispatch_uid=f"reference-del-{_model.__name__}")
