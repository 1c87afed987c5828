"""LOG_LEVEL in any case starts the application; an unknown level stops it with one clear line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parents[2]


def start_django(tmp_path, level):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(
        LOG_LEVEL=level, YARITORI_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings"
    )
    code = (
        "import django, logging; django.setup(); "
        "print(logging.getLevelName(logging.getLogger().level))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("given", "level"), [("info", "INFO"), ("Warning", "WARNING"), ("DEBUG", "DEBUG")]
)
def test_any_case_starts(tmp_path, given, level):
    started = start_django(tmp_path, given)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == level


def test_an_unknown_level_stops_with_one_clear_line(tmp_path):
    started = start_django(tmp_path, "loud")
    assert started.returncode != 0
    last = started.stderr.strip().splitlines()[-1]
    assert last == (
        "django.core.exceptions.ImproperlyConfigured: LOG_LEVEL='loud' is not a log level; "
        "use one of DEBUG, INFO, WARNING, ERROR or CRITICAL (any case)."
    )


@pytest.mark.parametrize("value", ["", "verbose", "20", "INFO,DEBUG"])
def test_log_level_refuses_what_logging_does_not_know(value):
    from config.logconfig import log_level

    with pytest.raises(ImproperlyConfigured, match="is not a log level"):
        log_level(value)


def test_log_level_accepts_the_aliases_logging_knows():
    from config.logconfig import log_level

    assert log_level(" warn ") == "WARN"
    assert log_level("critical") == "CRITICAL"
