"""Read queries and access checks of the audit app."""

from __future__ import annotations

from typing import Any

AUDITORS_GROUP = "auditors"


def user_is_auditor(user: Any) -> bool:
    """True for an active, authenticated member of the auditors group (監査担当)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.groups.filter(name=AUDITORS_GROUP).exists())
