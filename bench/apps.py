from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmarks (`manage.py bench`): installed only when YARITORI_DEMO is on."""

    name = "bench"
    verbose_name = "ベンチマーク (Benchmarks)"
