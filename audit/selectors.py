"""Read queries and access checks of the audit app."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection

from audit.ledger import retention_cutoff
from audit.models import LedgerEntry

AUDITORS_GROUP = "auditors"


def user_is_auditor(user: Any) -> bool:
    """True for an active, authenticated member of the auditors group (監査担当)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.groups.filter(name=AUDITORS_GROUP).exists())


def entry_exists(seq: int) -> bool:
    """Whether the entry with sequence number seq has been integrated."""
    return LedgerEntry.objects.filter(seq=seq).exists()


def entry_within_retention(seq: int) -> bool:
    """Whether entry seq exists and is still within the retention period (served to users)."""
    return LedgerEntry.objects.filter(seq=seq, intake__created_at__gte=retention_cutoff()).exists()


# Pending rows in the sequencer's own order, (txid, id) after the head's, through the same
# index it uses: the rows it will integrate next, whatever the size of the log.
_OLDEST_PENDING_SQL = (
    "SELECT MIN(created_at) FROM (SELECT created_at FROM audit_ledgerintake "
    "WHERE (txid, id) > (%s, %s) ORDER BY txid, id LIMIT 1000) AS pending"
)


def oldest_pending_intake() -> dt.datetime | None:
    """When the oldest entry that the sequencer has not integrated yet was recorded, or None
    when every committed entry is in the chain. Its age is the current integration delay.

    Reads at most 1,000 pending rows, in the order the sequencer takes them; a backlog longer
    than that is reported by the oldest of its first 1,000 rows (the delay is then long
    anyway).
    """
    head = (
        LedgerEntry.objects.select_related("intake")
        .order_by("-seq")
        .only("seq", "intake__txid", "intake__id")
        .first()
    )
    after = (-1, -1) if head is None else (head.intake.txid, head.intake.id)
    with connection.cursor() as cursor:
        cursor.execute(_OLDEST_PENDING_SQL, list(after))
        row = cursor.fetchone()
    value = row[0] if row else None
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back text from a raw aggregate
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value
