"""Why an auditor looks at a person's records or a staff member's activity: the purpose each
audit.view entry states, chosen from this list (a word in the ledger, never free text)."""

from __future__ import annotations

from django.db import models


class ViewPurpose(models.TextChoices):
    ROUTINE = "routine_audit", "定期監査 (Routine audit)"
    ENQUIRY = "enquiry", "住民からの問い合わせへの対応 (Answering a resident's enquiry)"
    ALERT = "alert", "アラートの調査 (Investigating an alert)"
    COMPLAINT = "complaint", "苦情・通報への対応 (A complaint or a report)"
    INTEGRITY = "integrity", "ログの完全性の調査 (Investigating the log's integrity)"


def purpose_or_none(value: object) -> str | None:
    """value if it is one of the purposes, else None."""
    return value if isinstance(value, str) and value in ViewPurpose.values else None
