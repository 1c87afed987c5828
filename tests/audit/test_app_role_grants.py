"""The restricted application role may only INSERT and SELECT on the ledger tables."""

import re
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit.db_guards import LEDGER_TABLES, grant_statements
from audit.ledger import ledger_append, ledger_integrate
from audit.models import LedgerEntry, LedgerIntake
from tests.support.events import TEST_EVENT

ROLE = "yaritori_app_test"


@pytest.fixture
def app_role(db):
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {ROLE} NOLOGIN")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
        # What default privileges give the app role on ordinary tables ...
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ROLE}"
        )
    call_command("audit_grants", "--role", ROLE)  # ... and what the command takes back.
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def as_app(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {ROLE}")
        cursor.execute(sql, params)


@pytest.mark.postgres
def test_app_role_can_append_and_read(app_role):
    ledger_append(event_type=TEST_EVENT, fields={"request_id": str(uuid.uuid4())})
    ledger_integrate()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {ROLE}")
        ledger_append(event_type=TEST_EVENT, fields={"outcome": "provided"})
        assert LedgerIntake.objects.count() == 2
        assert LedgerEntry.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.parametrize("table", LEDGER_TABLES)
@pytest.mark.parametrize("verb", ["UPDATE {t} SET id = id", "DELETE FROM {t}", "TRUNCATE {t}"])
def test_app_role_cannot_change_anything(app_role, table, verb):
    sql = verb.format(t=table)
    column = {"audit_ledgerentry": "seq", "audit_merklesubtree": "level"}.get(table, "id")
    sql = sql.replace("id = id", f"{column} = {column}")
    with pytest.raises(DatabaseError, match="permission denied"):
        as_app(sql)


def test_deploy_script_guards_exactly_the_ledger_tables():
    script = (Path(__file__).resolve().parents[2] / "deploy/postgres/init-roles.sql").read_text()
    for array in re.findall(r"ARRAY\[([^\]]+)\]", script):
        assert sorted(re.findall(r"'([a-z_]+)'", array)) == sorted(LEDGER_TABLES)


def test_role_names_are_checked():
    with pytest.raises(ValueError, match="plain lower-case SQL identifier"):
        grant_statements("app; DROP TABLE x")
