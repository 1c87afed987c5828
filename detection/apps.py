"""detection as an installed app: rules, the incremental scanner, alerts and anomaly mails."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DetectionConfig(AppConfig):
    name = "detection"
    verbose_name = _("Misuse detection")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The app's event types are declared to the ledger when the app loads, as every
        # writer's are: the ledger refuses an entry of an undeclared type.
        from detection import events  # noqa: F401
        from detection.lookups import register

        register()
