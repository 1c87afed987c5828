"""Celery tasks of the outbox: thin interfaces over core.outbox, taking ids only."""

from __future__ import annotations

from celery import shared_task

from core.outbox import MAX_ATTEMPTS, OutboxDeliveryError, outbox_deliver, outbox_due


@shared_task(
    name="core.outbox_deliver",
    acks_late=True,
    # The row's own schedule decides the delay; the task only retries soon after a failure.
    autoretry_for=(OutboxDeliveryError,),
    max_retries=MAX_ATTEMPTS - 1,
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
)
def outbox_deliver_task(message_id: int) -> bool:
    """Deliver outbox message message_id (idempotent: a message is sent at most once)."""
    return outbox_deliver(message_id=message_id)


@shared_task(name="core.outbox_sweep", acks_late=True)
def outbox_sweep_task() -> int:
    """Queue every pending message whose task was lost (the broker was down at commit, a
    worker died). Runs on beat; returns how many it queued."""
    due = outbox_due()
    for message_id in due:
        outbox_deliver_task.delay(message_id)
    return len(due)
