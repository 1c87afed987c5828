"""The auditors' dashboard (監査): search and read the ledger, answer residents' enquiries,
watch the log's integrity, charts, and staff drill-down; every look at a person's records is
itself a ledger entry."""

import importlib

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Imported at start in every process: the dashboard's event types are declared to the ledger
# before any entry is written or read, the portal learns how to show them to residents, and
# the receivers (a witness refusal) and caches are connected.
_AT_START = (
    "dashboard.events",
    "dashboard.presenters",
    "dashboard.receivers",
    "dashboard.facts",
)


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = _("Auditor dashboard")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        for module in _AT_START:
            importlib.import_module(module)
