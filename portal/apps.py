"""The resident portal (マイナポータル-style やりとり履歴)."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "住民ポータル (Resident portal)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The ledger accepts the portal's entries only once their schemas are registered.
        from portal import events  # noqa: F401
