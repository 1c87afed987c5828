from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "連携ネットワーク (Linkage network)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The network's event types are declared to the ledger before any entry is written or
        # read, in every process (web, worker, sequencer, commands); the caches connect their
        # signals on import.
        from agencies import reference  # noqa: F401
        from agencies.api import auth  # noqa: F401
        from agencies.network import events, rules  # noqa: F401
