"""Celery tasks of the detection app: thin, idempotent interfaces over the scanner and the
mail services. They take ids and dates (JSON), never objects.

All are acks_late (a task lost with its worker runs again) with time limits and bounded,
backed-off retries on database errors; running any of them twice has the effect of once.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import DatabaseError, transaction
from django.utils import timezone

from agencies.models import Organization
from core.calendar import TOKYO
from detection.mail import digest_send
from detection.scanner import scan_until_caught_up

logger = logging.getLogger("detection.tasks")

# A scan runs batches for at most SCAN_BUDGET seconds, well within its soft time limit; what
# is left waits for the next beat (every DETECTION_SCAN_INTERVAL seconds).
SCAN_BUDGET = 40.0


@shared_task(
    name="detection.scan",
    acks_late=True,
    soft_time_limit=55,
    time_limit=60,
    autoretry_for=(DatabaseError,),
    max_retries=5,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
)
def scan_task() -> int:
    """Scan the ledger from the watermark until caught up (or SCAN_BUDGET): returns the
    entries scanned. Beat sends it every few seconds; a second copy at the same time finds
    the watermark locked and returns 0."""
    result = scan_until_caught_up(max_seconds=SCAN_BUDGET)
    if result.alerts_opened:
        logger.info("scanned %d entries: %d alerts opened", result.scanned, result.alerts_opened)
    return result.scanned


@shared_task(
    name="detection.digest",
    acks_late=True,
    soft_time_limit=110,
    time_limit=120,
    autoretry_for=(DatabaseError,),
    max_retries=5,
    retry_backoff=10,
    retry_backoff_max=600,
    retry_jitter=True,
)
def digest_task(organization_id: int | None, day: str) -> int:
    """Queue one organisation's daily digest for day (ISO date; organization_id None: the
    national auditors'); returns the mails queued (0 when already queued)."""
    return digest_send(day=dt.date.fromisoformat(day), organization_id=organization_id)


@shared_task(name="detection.daily_digests", acks_late=True, soft_time_limit=50, time_limit=60)
def daily_digests_task(day: str | None = None) -> int:
    """Queue a digest task for every organisation and the national auditors, for day (ISO;
    default yesterday in Tokyo). Beat sends it each morning. Returns how many were queued."""
    when = day or (timezone.now().astimezone(TOKYO).date() - dt.timedelta(days=1)).isoformat()
    ids: list[int | None] = [*Organization.objects.order_by("pk").values_list("pk", flat=True)]
    ids.append(None)

    def queue() -> None:
        for organization_id in ids:
            digest_task.delay(organization_id, when)

    # Queued once the read above is over (and, inside a caller's transaction, committed).
    transaction.on_commit(queue)
    return len(ids)
