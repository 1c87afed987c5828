"""Backup and restore as docs/operations.md says: pg_dump -Fc of a real database holding
ledger entries, pg_restore into a new database, and `manage.py audit_verify` run against the
restored copy (DATABASE_URL pointed at it, in a process of its own) passes; the restored
ledger tables refuse changes again; and a restore that was tampered with fails the same
check, so the check means something."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from audit.ledger import ledger_append, ledger_integrate
from tests.support.events import TEST_EVENT

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _params(dbname: str | None = None) -> dict[str, Any]:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    if dbname:
        params["dbname"] = dbname
    return params


def _url(dbname: str) -> str:
    p = _params(dbname)
    password = f":{p['password']}" if p.get("password") else ""
    host, port = p.get("host") or "127.0.0.1", p.get("port") or 5432
    return f"postgres://{p.get('user', 'postgres')}{password}@{host}:{port}/{dbname}"


def _libpq_env() -> dict[str, str]:
    p = _params()
    env = dict(os.environ)
    env.update(PGHOST=str(p.get("host") or "127.0.0.1"), PGPORT=str(p.get("port") or 5432))
    env.update(PGUSER=str(p.get("user") or "postgres"))
    if p.get("password"):
        env["PGPASSWORD"] = str(p["password"])
    return env


def _audit_verify(dbname: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=_url(dbname),
        YARITORI_VAR_DIR=str(tmp_path / "var"),
        # The same log as the one dumped: its origin and its signing key.
        AUDIT_LOG_ORIGIN=settings.AUDIT_LOG_ORIGIN,
        AUDIT_LOG_SIGNING_KEY=settings.AUDIT_LOG_SIGNING_KEY,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "audit_verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def restored_db():
    name = f"restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**_params(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(**_params(), autocommit=True) as admin:
        # DROP DATABASE waits until every backend of the cluster has closed the database's
        # files; a backend of another database busy in a long COPY does not answer that until
        # it is done. Bounded, then the copy is left for a later run rather than hang the suite.
        admin.execute("SET statement_timeout = '120s'")
        try:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.errors.QueryCanceled:
            warnings.warn(f"database {name} left behind: DROP DATABASE timed out", stacklevel=1)


@pytest.mark.skipif(not shutil.which("pg_dump"), reason="needs pg_dump and pg_restore")
def test_a_dump_restored_into_a_new_database_verifies(restored_db, tmp_path):
    for _batch in range(3):
        for _ in range(40):
            ledger_append(event_type=TEST_EVENT, fields={"outcome": "provided"})
        ledger_integrate()
    ledger_append(event_type=TEST_EVENT, fields={"outcome": "held"})  # not yet integrated
    source = connection.settings_dict["NAME"]
    dump = tmp_path / "yaritori.dump"
    env = _libpq_env()
    subprocess.run(
        ["pg_dump", "-Fc", "-d", source, "-f", str(dump)], env=env, check=True, capture_output=True
    )
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "-d", restored_db, str(dump)],
        env=env,
        check=True,
        capture_output=True,
    )

    verified = _audit_verify(restored_db, tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK: entries 0..119 verified")

    with psycopg.connect(**_params(restored_db), autocommit=True) as restored:
        # Everything came back, the entry still waiting for the sequencer included ...
        assert restored.execute("SELECT count(*) FROM audit_ledgerintake").fetchone() == (121,)
        # ... and the restored ledger refuses changes again (its triggers were restored).
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            restored.execute(
                "UPDATE audit_ledgerintake SET leaf = leaf "
                "WHERE id = (SELECT min(id) FROM audit_ledgerintake)"
            )
        # A restore that someone altered fails the same check.
        restored.execute("ALTER TABLE audit_ledgerintake DISABLE TRIGGER USER")
        restored.execute(
            "UPDATE audit_ledgerintake SET leaf = replace(leaf, 'provided', 'refused') "
            "WHERE id = (SELECT intake_id FROM audit_ledgerentry WHERE seq = 57)"
        )
    tampered = _audit_verify(restored_db, tmp_path)
    assert tampered.returncode != 0
    assert "57" in tampered.stderr
