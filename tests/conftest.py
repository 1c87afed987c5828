"""Suite-wide fixtures and the REQUIRE_SERVICES switch.

Tests marked postgres, redis or browser skip when their service is missing, except under
REQUIRE_SERVICES=1 (CI), where a missing service is a failure: a green CI must mean the test ran.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# CI shares a small, noisy machine: a property test must fail for a wrong answer, never for a
# slow example.
hypothesis_settings.register_profile("yaritori", deadline=None)
hypothesis_settings.load_profile("yaritori")

# The world fixture and the factories are shared by every app's tests.
pytest_plugins = ["tests.support.world", "tests.support.capacities"]

REPO_ROOT = Path(__file__).resolve().parent.parent
# ../shared beside the checkout (CI); YARITORI_SHARED_DIR names it for a checkout elsewhere,
# such as a git worktree.
SHARED_DIR = Path(os.environ.get("YARITORI_SHARED_DIR", REPO_ROOT.parent / "shared"))


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES", "") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip the current test, or fail it when REQUIRE_SERVICES=1."""
    if services_required():
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def _database_vendor() -> str:
    from django.db import connection

    return connection.vendor


@pytest.fixture(autouse=True)
def _service_markers(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and _database_vendor() != "postgresql":
        skip_or_fail("this test needs PostgreSQL (set DATABASE_URL)")
    if request.node.get_closest_marker("redis") and not os.environ.get(
        "CELERY_BROKER_URL", ""
    ).startswith("redis"):
        skip_or_fail("this test needs Redis (set CELERY_BROKER_URL=redis://...)")
    if request.node.get_closest_marker("browser") and not shutil.which("chromium"):
        skip_or_fail("this test needs Debian's chromium (apt-get install chromium)")


@pytest.fixture(scope="session")
def shared_vectors_dir() -> Path:
    """../shared/vectors when present (CI always has it)."""
    path = SHARED_DIR / "vectors"
    if not path.is_dir():
        skip_or_fail(f"shared vectors not found at {path}")
    return path


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # Hashing demo passwords with PBKDF2 on every test user would dominate the suite's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _flush_through_ledger_guards():
    """Let transactional tests flush the database between tests.

    Django empties every table after a transactional test (TRUNCATE on PostgreSQL, DELETE on
    SQLite), which the ledger's append-only triggers refuse, as they should. Here, and only
    here, the flush runs with the triggers taken down, as the database owner could.
    """
    from django.db.backends.base.operations import BaseDatabaseOperations

    from audit.db_guards import triggers_disabled

    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with triggers_disabled(self.connection):
            return original(self, sql_list)

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    BaseDatabaseOperations.execute_sql_flush = original


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty shared cache (the portal's login throttle counts there,
    in a folder under var/ that outlives a test run)."""
    from django.core.cache import cache

    cache.clear()
