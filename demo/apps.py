from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo world, its traffic and the `make run` banner: installed only when
    YARITORI_DEMO is on (make run, the tests, the benchmarks), never in production."""

    name = "demo"
    verbose_name = _("Demo")
