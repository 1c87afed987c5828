"""Settings for the test suite: the product's settings (config.settings) with the demo world and
the benchmarks installed, since their tests need them. Set before the product's settings read
the environment; subprocesses that tests start inherit it."""

import os

os.environ.setdefault("YARITORI_DEMO", "1")

from config.settings import *  # noqa: F403

# The tests render pages without running collectstatic first, which the production storage's
# manifest needs; tests/deploy/test_static_files.py runs collectstatic with the production
# storage and checks the hashed, compressed files and the pages that name them.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
