"""A verification run's progress, for the integrity panel's progress bar.

Kept in the shared cache (CACHE_URL: Redis, or a folder shared by the processes), not in the
run's row: verify_log reads the log inside one transaction, and a row written from there
would be seen by nobody until the end. A cache that is down costs the bar, never the run.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

log = logging.getLogger(__name__)

_KEY = "dashboard:verify-progress:{}"
_TTL = 24 * 60 * 60
# Writing on every callback would be cheap, but twice a second is all a bar needs.
_MIN_INTERVAL = 0.5


def _key(run_id: int) -> str:
    return _KEY.format(run_id)


class Reporter:
    """verify_log's progress callback for one run: remembers done/total, never goes back."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.done = 0
        self.total = 0
        self._written = 0.0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = max(self.done, done), total
        now = time.monotonic()
        if now - self._written >= _MIN_INTERVAL or done >= total:
            self._write()
            self._written = now

    def finish(self) -> None:
        self.done = self.total
        self._write()

    def _write(self) -> None:
        try:
            cache.set(_key(self.run_id), (self.done, self.total), _TTL)
        except Exception:  # a cache that is down costs the progress bar, never the run
            log.warning("verification progress: the cache is not answering", exc_info=True)


def progress_of(run_id: int) -> tuple[int, int] | None:
    """(done, total) entries of a run as last reported, or None when nothing was."""
    try:
        found = cache.get(_key(run_id))
    except Exception:
        return None
    if isinstance(found, tuple | list) and len(found) == 2:
        return int(found[0]), int(found[1])
    return None
