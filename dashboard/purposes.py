"""Why an auditor looks at a person's records or a staff member's activity: the purpose each
audit.view entry states, chosen from this list (a word in the ledger, never free text)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ViewPurpose(models.TextChoices):
    ROUTINE = "routine_audit", _("Routine audit")
    ENQUIRY = "enquiry", _("Answering a resident's enquiry")
    ALERT = "alert", _("Investigating an alert")
    COMPLAINT = "complaint", _("A complaint or a report")
    INTEGRITY = "integrity", _("Investigating the log's integrity")


def purpose_or_none(value: object) -> str | None:
    """value if it is one of the purposes, else None."""
    return value if isinstance(value, str) and value in ViewPurpose.values else None
