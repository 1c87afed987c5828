"""The resident portal (マイナポータル-style やりとり履歴)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Resident portal")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The ledger accepts the portal's entries only once their schemas are registered.
        from portal import events  # noqa: F401
