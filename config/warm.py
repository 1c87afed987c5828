"""A web worker's start: load what the first request would load, then freeze the heap.

CPython's cyclic garbage collector now and then scans every object a process holds. In a
worker that is Django, DRF, the project and their caches, some hundred thousand objects that
live as long as the process: each full collection took 55-92 ms, a pause charged to whichever
request was running (docs/benchmarks.md). gc.freeze() moves every object alive at that moment
into a generation the collector never scans, so a full collection only looks at what requests
created since: 2-7 ms. Frozen objects are still freed by reference counting when dropped; only
a cycle among them would outlive its use, and gunicorn's max_requests bounds that too.
"""

from __future__ import annotations

import gc

from django.urls import get_resolver


def warm_and_freeze() -> int:
    """Import every URLconf and view module now, as the first request would, collect what
    start-up left behind, and freeze the rest. Returns the number of objects frozen."""
    get_resolver().url_patterns  # noqa: B018 - the property imports the URLconfs and views
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
