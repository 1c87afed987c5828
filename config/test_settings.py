"""Settings for the test suite: the product's settings (config.settings) with the demo world and
the benchmarks installed, since their tests need them. Set before the product's settings read
the environment; subprocesses that tests start inherit it."""

import os

os.environ.setdefault("YARITORI_DEMO", "1")

from config.settings import *  # noqa: F403
