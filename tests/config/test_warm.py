"""A web worker's start (config/warm.py, wired in deploy/gunicorn.conf.py)."""

import gc
import runpy
from pathlib import Path

import pytest
from django.urls import clear_url_caches, get_resolver

from config.warm import warm_and_freeze

GUNICORN_CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the suite runs with an ordinary collector


def test_warm_and_freeze_freezes_the_heap_and_loads_the_views(unfrozen):
    clear_url_caches()
    assert "url_patterns" not in vars(get_resolver())
    frozen = warm_and_freeze()
    assert frozen > 10_000
    # Objects frozen and freed since (another thread's, a finished frame's) leave the
    # permanent generation: the count may only have shrunk a little.
    assert frozen - 100 < gc.get_freeze_count() <= frozen
    assert "url_patterns" in vars(get_resolver())  # URLconfs and views loaded before freezing
    # Only what is created afterwards is left for the collector to scan.
    assert sum(gc.get_count()) < frozen / 10


def test_the_deployed_gunicorn_config_freezes_each_worker_after_it_loads_the_app(unfrozen):
    config = runpy.run_path(str(GUNICORN_CONF))
    assert config["preload_app"] is False  # each worker builds, and freezes, its own heap
    config["post_worker_init"](object())
    assert gc.get_freeze_count() > 10_000
