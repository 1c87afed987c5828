"""The one mail outbox (送信待ちメール): every e-mail the product sends goes through here.

Guarantees:
- nothing is lost while SMTP or the broker is down: a mail is a row written in the caller's
  transaction (outbox_enqueue); the Celery task that delivers it is queued only after that
  transaction commits, and a periodic sweep (outbox_sweep, on beat) re-queues any row still
  pending, so a task lost with the broker is sent later all the same;
- nothing is sent twice: delivery takes the row's lock (skipping a row another worker holds),
  sends, and marks it sent in one transaction; a row already sent is left alone, and the same
  dedupe_key is stored once. (A crash between the SMTP server's acceptance and the commit can
  still repeat one mail: SMTP offers no way to make that atomic.)
- bounded retries: a failed attempt is retried with a growing delay, MAX_ATTEMPTS in all, then
  the row is marked failed and stays for an operator to look at.

Tasks take the row's id only (core.tasks).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from core.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
_BACKOFF_SECONDS = (30, 120, 600, 1800, 3600)
# A row pending this long with no delivery under way has lost its task (the broker was down
# at commit, or a worker died holding it): the sweep queues it again.
STALE_AFTER = dt.timedelta(minutes=2)


def outbox_enqueue(
    *, kind: str, dedupe_key: str, to: str, subject: str, body: str, html: str = ""
) -> int:
    """Store one mail in the caller's transaction and queue its delivery after the commit.
    body is the plain text; html, when given, is sent beside it as the HTML alternative.

    Returns the row's id. The same dedupe_key stored before returns that row's id and
    queues nothing new (the first one is, or was, being delivered).
    """
    now = timezone.now()
    message, created = OutboxMessage.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "kind": kind,
            "to": to,
            "subject": subject,
            "body": body,
            "html": html,
            "created_at": now,
            "next_attempt_at": now,
        },
    )
    if created:
        _queue_after_commit(message.pk)
    return message.pk


def _queue_after_commit(message_id: int) -> None:
    def queue() -> None:
        from core.tasks import outbox_deliver_task

        try:
            outbox_deliver_task.delay(message_id)
        except Exception:  # the broker is down: the row is safe, the sweep will find it
            log.warning("outbox: could not queue message %s; the sweep will retry", message_id)

    transaction.on_commit(queue)


def outbox_deliver(*, message_id: int) -> bool:
    """Send one pending message through Django's mail backend, at most once.

    Returns True when this call sent it; False when it was already sent, given up,
    or being sent by another worker. A failure to send records the error, schedules the next
    attempt (or gives up after MAX_ATTEMPTS) and re-raises, so a task can retry.
    """
    failure: tuple[int, Exception] | None = None
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboxStatus.PENDING)
            .first()
        )
        if message is None:
            return False
        try:
            mail = EmailMultiAlternatives(
                subject=message.subject,
                body=message.body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[message.to],
            )
            if message.html:
                mail.attach_alternative(message.html, "text/html")
            mail.send(fail_silently=False)
        except Exception as exc:
            failed = message.attempts + 1
            message.attempts = failed
            # The exception's class and message only: the recipient is in its own column.
            message.last_error = f"{type(exc).__name__}: {exc}"[:300]
            if failed >= MAX_ATTEMPTS:
                message.status = OutboxStatus.FAILED
            else:
                delay = _BACKOFF_SECONDS[min(failed - 1, len(_BACKOFF_SECONDS) - 1)]
                message.next_attempt_at = timezone.now() + dt.timedelta(seconds=delay)
            message.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            # Raised after the commit, so that the attempt stays recorded.
            failure = (failed, exc)
        else:
            message.status = OutboxStatus.SENT
            message.attempts += 1
            message.sent_at = timezone.now()
            message.save(update_fields=["status", "attempts", "sent_at"])
    if failure is not None:
        raise OutboxDeliveryError(message_id, failure[0]) from failure[1]
    return True


class OutboxDeliveryError(Exception):
    """Sending one outbox message failed; the row records why and when it is tried next."""

    def __init__(self, message_id: int, attempts: int) -> None:
        super().__init__(f"outbox message {message_id}: attempt {attempts} failed")
        self.message_id = message_id
        self.attempts = attempts


def outbox_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of pending messages due for an attempt that no task is likely to be carrying:
    created (or last tried) more than STALE_AFTER ago, or scheduled for a retry now due."""
    now = now or timezone.now()
    return list(
        OutboxMessage.objects.filter(
            status=OutboxStatus.PENDING, next_attempt_at__lte=now - STALE_AFTER
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
