from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BenchConfig(AppConfig):
    """The benchmarks (`manage.py bench`): installed only when YARITORI_DEMO is on."""

    name = "bench"
    verbose_name = _("Benchmarks")
