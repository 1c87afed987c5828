from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "連携ネットワーク (Linkage network)"
    default_auto_field = "django.db.models.BigAutoField"
