"""Celery tasks of the dashboard: thin, taking ids, safe to run again."""

from __future__ import annotations

from celery import shared_task

from dashboard.indexer import index_pending
from dashboard.services import verification_perform

# One task run indexes at most this many batches, so that a large backlog (a first start on
# an old log) is worked off by several short tasks rather than one long one.
_BATCHES_PER_RUN = 10


@shared_task(name="dashboard.verify_log", acks_late=True)
def verify_log_task(run_id: int) -> str:
    """Run verification run run_id (dashboard.services.verification_perform); returns its
    status. Idempotent: a run no longer queued is left as it is."""
    return str(verification_perform(run_id=run_id).status)


@shared_task(name="dashboard.index_entries")
def index_entries_task() -> int:
    """Bring the auditors' search index up to the log (beat, every few seconds); returns how
    many entries it indexed."""
    total = 0
    for _ in range(_BATCHES_PER_RUN):
        indexed = index_pending()
        total += indexed
        if not indexed:
            break
    return total
