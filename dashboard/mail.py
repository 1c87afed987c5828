"""Mails to the national auditors (監査担当), through the one outbox (core.outbox): a failed
verification, a witness refusal. They say what happened and where to look; the damage line
holds sequence numbers and hashes only, never personal data."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model

from audit.selectors import AUDITORS_GROUP
from core.outbox import outbox_enqueue


def auditor_addresses() -> list[tuple[int, str]]:
    """(user id, e-mail) of every active national auditor with an address."""
    return list(
        get_user_model()
        .objects.filter(groups__name=AUDITORS_GROUP, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("pk", "email")
    )


def mail_auditors(*, kind: str, key: str, subject: str, body: str) -> int:
    """Queue one mail to each national auditor, in the caller's transaction (sent after its
    commit); key makes the same alarm stored once per auditor. Returns how many were queued."""
    link = f"{settings.AUDIT_BASE_URL.rstrip('/')}/audit/integrity/"
    queued = 0
    for user_id, address in auditor_addresses():
        outbox_enqueue(
            kind=kind,
            dedupe_key=f"{kind}:{key}:{user_id}"[:120],
            to=address,
            subject=subject,
            body=f"{body}\n\n{link}\n",
        )
        queued += 1
    return queued
