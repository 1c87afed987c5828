"""core's one table: the mail outbox, shared by every app that sends mail (portal notices,
later detection's anomaly mails). See core/outbox.py for the guarantees."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed, gave up")


class OutboxMessage(models.Model):
    """送信待ちメール: one e-mail, written in the transaction that decided to send it.

    A row is PENDING until one delivery attempt hands it to the mail backend and marks it SENT
    in the same transaction that holds its row lock; it is never deleted. dedupe_key makes
    enqueueing the same mail twice (a retried task, a double click) store it once.
    """

    kind = models.CharField(_("Kind"), max_length=40)
    dedupe_key = models.CharField(_("Dedupe key"), max_length=120, unique=True)
    to = models.EmailField(_("Recipient"))
    subject = models.CharField(_("Mail subject"), max_length=200)
    body = models.TextField(_("Body"))
    # An HTML alternative of the same text (multipart/alternative); empty for plain text only.
    html = models.TextField(_("HTML body"), blank=True, default="")
    status = models.CharField(
        _("Status"), max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("Attempts"), default=0)
    last_error = models.CharField(_("Last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("Created at"))
    next_attempt_at = models.DateTimeField(_("Next attempt"))
    sent_at = models.DateTimeField(_("Mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Outbox message")
        verbose_name_plural = _("Outbox")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="core_outbox_pending",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"
