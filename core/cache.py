"""One per-process cache for small tables read on every request (the permitted table, the
reference codes, the agency systems' keys).

Each process keeps what it loaded for a bounded time; a change made in this process clears it
at once (connect `clear` to the models' signals with `clear_on_change`), and a change made in
another process takes effect within the time to live. That bound is the only staleness, and
each user of the cache states it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ProcessCache(Generic[K, V]):
    """Values computed by `load(key)`, each kept for `ttl` seconds in this process.

    A load that returns None is not remembered (so that unknown keys, e.g. guessed API keys,
    cannot grow the memory, and a key created elsewhere is found at once).
    """

    def __init__(self, name: str, *, ttl: float, load: Callable[[K], V | None]) -> None:
        self.name = name
        self.ttl = ttl
        self._load = load
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        """The value for key, loaded at most once per ttl seconds (None is never kept)."""
        now = time.monotonic()
        remembered = self._entries.get(key)
        if remembered is not None and now - remembered[0] < self.ttl:
            return remembered[1]
        value = self._load(key)
        if value is None:
            self._entries.pop(key, None)
        else:
            self._entries[key] = (now, value)
        return value

    def clear(self, *_: object, **__: object) -> None:
        """Forget everything (a signal receiver: takes and ignores any arguments)."""
        self._entries.clear()

    def clear_on_change(self, *senders: type[models.Model]) -> None:
        """Clear this cache whenever a row of one of senders is saved or deleted, or an
        auto-created many-to-many table among senders changes, in this process."""
        for sender in senders:
            uid = f"{self.name}-{sender._meta.label}"
            if sender._meta.auto_created:
                m2m_changed.connect(self.clear, sender=sender, dispatch_uid=f"{uid}-m2m")
                continue
            post_save.connect(self.clear, sender=sender, dispatch_uid=f"{uid}-save")
            post_delete.connect(self.clear, sender=sender, dispatch_uid=f"{uid}-delete")
