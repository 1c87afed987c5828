"""Celery tasks of the portal: thin interfaces over portal.notices."""

from __future__ import annotations

from celery import shared_task

from portal.notices import record_notices_send


@shared_task(name="portal.record_notices", acks_late=True)
def record_notices_task() -> int:
    """Queue the new-record mails that are due (idempotent: each record is mailed once)."""
    return record_notices_send()
