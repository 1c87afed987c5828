import importlib

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Imported at start in every process (web, worker, sequencer, commands): the event types are
# declared to the ledger before any entry is written or read, and the per-process caches
# connect their signals.
_AT_START = (
    "agencies.events",
    "agencies.network.events",
    "agencies.network.rules",
    "agencies.reference",
    "agencies.api.auth",
)


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = _("Linkage network")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        for module in _AT_START:
            importlib.import_module(module)
