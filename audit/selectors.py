"""Read queries and access checks of the audit app."""

from __future__ import annotations

from typing import Any

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
