"""The dashboard's navigation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dashboard.access import AuditorScope


@dataclass(frozen=True)
class NavEntry:
    name: str  # the URL name, for aria-current
    label: Any
    url: str


def entries(scope: AuditorScope) -> list[NavEntry]:
    """The navigation for this auditor (rules and the watchlist: national auditors only)."""
    items = [
        NavEntry("home", _("Overview"), reverse("dashboard:home")),
        NavEntry("alerts", _("Alerts"), reverse("dashboard:alerts")),
        NavEntry("entries", _("Entries"), reverse("dashboard:entries")),
        NavEntry("enquiries", _("Enquiries"), reverse("dashboard:enquiries")),
        NavEntry("integrity", _("Integrity"), reverse("dashboard:integrity")),
        NavEntry("charts", _("Charts"), reverse("dashboard:charts")),
    ]
    if scope.national:
        items += [
            NavEntry("alert-rules", _("Rules"), reverse("dashboard:alert-rules")),
            NavEntry("alert-watchlist", _("Watchlist"), reverse("dashboard:alert-watchlist")),
        ]
    return items
