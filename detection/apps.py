"""detection as an installed app: rules, the incremental scanner, alerts and anomaly mails."""

from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "detection"
    verbose_name = "不正利用検知 (Misuse detection)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The app's event types are declared to the ledger when the app loads, as every
        # writer's are: the ledger refuses an entry of an undeclared type.
        from detection import events  # noqa: F401
        from detection.lookups import register

        register()
