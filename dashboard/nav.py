"""The dashboard's navigation, and the place where the alert queue plugs in.

Misuse detection (issue 16: the `detection` app with its alerts, rules, thresholds and
watchlist) is built separately. When it is installed and a module dashboard/alerts.py exists
(the alert queue's views, its `urlpatterns`, and an `alert_charts(scope)` for the charts page),
the dashboard links to it and mounts it under /audit/alerts/; until then nothing of it shows.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.apps import apps
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dashboard.access import AuditorScope


@cache
def alerts_available() -> bool:
    """Whether the alert queue can plug in: detection installed and dashboard.alerts there."""
    return apps.is_installed("detection") and (
        importlib.util.find_spec("dashboard.alerts") is not None
    )


def alerts_module() -> Any:
    """dashboard.alerts, imported by name (it does not exist until detection arrives)."""
    return importlib.import_module("dashboard.alerts")


@dataclass(frozen=True)
class NavEntry:
    name: str  # the URL name, for aria-current
    label: Any
    url: str


def entries(scope: AuditorScope) -> list[NavEntry]:
    """The navigation for this auditor."""
    items = [
        NavEntry("home", _("Overview"), reverse("dashboard:home")),
        NavEntry("entries", _("Entries"), reverse("dashboard:entries")),
        NavEntry("enquiries", _("Enquiries"), reverse("dashboard:enquiries")),
        NavEntry("integrity", _("Integrity"), reverse("dashboard:integrity")),
        NavEntry("charts", _("Charts"), reverse("dashboard:charts")),
    ]
    if alerts_available():
        items.insert(1, NavEntry("alerts", _("Alerts"), reverse("dashboard:alerts")))
    return items


def alert_charts(scope: AuditorScope) -> list[Any]:
    """The alert charts (alerts per rule, organisations by alert rate) once detection is in;
    an empty list until then."""
    if not alerts_available():
        return []
    return list(alerts_module().alert_charts(scope))
