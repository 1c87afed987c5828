"""Celery tasks of the agencies app: thin, take ids, safe to run again."""

from __future__ import annotations

import logging

from celery import shared_task
from kombu.exceptions import OperationalError

from agencies.batches import batch_send

logger = logging.getLogger("agencies.tasks")

# Requests sent per task run: a batch of thousands goes out as a chain of short tasks, so a
# worker restart loses at most one chunk's work (which the next run replays, not repeats).
BATCH_CHUNK = 200


@shared_task(name="agencies.batch_send")
def batch_send_task(batch_id: int) -> int:
    """Send the next chunk of a batch query's requests, then queue the rest; returns how many
    remain. Running it again, or twice at once, sends nothing twice (agencies.batches)."""
    remaining = batch_send(batch_id=batch_id, limit=BATCH_CHUNK)
    if remaining:
        batch_send_task.delay(batch_id)
    return remaining


def batch_send_enqueue(batch_id: int) -> bool:
    """Queue a batch query's sending; False (logged) when the job queue cannot be reached,
    in which case the batch stays as it is and can be resumed later."""
    try:
        batch_send_task.delay(batch_id)
    except OperationalError:
        logger.warning("batch %s: the job queue is not reachable; sending not started", batch_id)
        return False
    return True
