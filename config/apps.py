"""The project's own app entry: it exists so that the security receivers are connected once,
when Django starts, before any login can happen (config/security.py)."""

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "config"
    verbose_name = "Yaritori configuration"

    def ready(self) -> None:
        from config import security

        security.connect_signals()
