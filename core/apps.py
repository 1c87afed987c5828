"""core as an installed app: it owns one table, the mail outbox (core.outbox)."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "共通 (Core)"
    default_auto_field = "django.db.models.BigAutoField"
