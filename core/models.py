"""core's one table: the mail outbox, shared by every app that sends mail (portal notices,
later detection's anomaly mails). See core/outbox.py for the guarantees."""

from __future__ import annotations

from django.db import models


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "未送信 (Pending)"
    SENT = "sent", "送信済み (Sent)"
    FAILED = "failed", "送信失敗 (Failed, gave up)"


class OutboxMessage(models.Model):
    """送信待ちメール: one e-mail, written in the transaction that decided to send it.

    A row is PENDING until one delivery attempt hands it to the mail backend and marks it SENT
    in the same transaction that holds its row lock; it is never deleted. dedupe_key makes
    enqueueing the same mail twice (a retried task, a double click) store it once.
    """

    kind = models.CharField("種別 (Kind)", max_length=40)
    dedupe_key = models.CharField("重複防止キー (Dedupe key)", max_length=120, unique=True)
    to = models.EmailField("宛先 (To)")
    subject = models.CharField("件名 (Subject)", max_length=200)
    body = models.TextField("本文 (Body)")
    # An HTML alternative of the same text (multipart/alternative); empty for plain text only.
    html = models.TextField("HTML本文 (HTML body)", blank=True, default="")
    status = models.CharField(
        "状態 (Status)", max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField("試行回数 (Attempts)", default=0)
    last_error = models.CharField("最後のエラー (Last error)", max_length=300, blank=True)
    created_at = models.DateTimeField("作成日時 (Created at)")
    next_attempt_at = models.DateTimeField("次回試行 (Next attempt)")
    sent_at = models.DateTimeField("送信日時 (Sent at)", null=True, blank=True)

    class Meta:
        verbose_name = "送信待ちメール (Outbox message)"
        verbose_name_plural = "送信待ちメール (Outbox)"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="core_outbox_pending",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"
