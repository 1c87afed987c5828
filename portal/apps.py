from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "住民ポータル (Resident portal)"
    default_auto_field = "django.db.models.BigAutoField"
