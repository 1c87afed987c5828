"""Append-only guards for the ledger tables, written into the database itself.

PostgreSQL: row triggers refuse UPDATE and DELETE, a statement trigger refuses TRUNCATE, for
every role including the owner; the application role is also granted only INSERT and SELECT
(audit_grants command, docs/deploy.md). SQLite (the embedded default): triggers refuse UPDATE
and DELETE (SQLite has no TRUNCATE; DELETE without WHERE still fires the trigger).

Only the database owner can take the guards down (ALTER TABLE ... DISABLE TRIGGER, or DROP on
SQLite); triggers_disabled() does that for test set-up and for the tamper tests that play a
hostile administrator. Whatever such an administrator changes, the chain, the tree and the
signed checkpoints still show it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.base.base import BaseDatabaseWrapper

LEDGER_TABLES = (
    "audit_ledgerintake",
    "audit_ledgerentry",
    "audit_merklesubtree",
    "audit_checkpoint",
    "audit_witnesscosignature",
)

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _pg_create(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();",
    ]


def _sqlite_create(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'audit table {table} is append-only: {op} refused'); END;"
        for op in ("UPDATE", "DELETE")
    ]


def install_guards(
    connection: BaseDatabaseWrapper, tables: tuple[str, ...] = LEDGER_TABLES
) -> None:
    """Create the append-only triggers on tables (idempotent on SQLite)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_FUNCTION)
            for table in tables:
                for op in ("append_only", "no_truncate"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_{op} ON {table};")
                for sql in _pg_create(table):
                    cursor.execute(sql)
        elif connection.vendor == "sqlite":
            for table in tables:
                for sql in _sqlite_create(table):
                    cursor.execute(sql)
        else:
            raise NotImplementedError(f"no append-only guard for {connection.vendor}")


def remove_guards(connection: BaseDatabaseWrapper, tables: tuple[str, ...] = LEDGER_TABLES) -> None:
    """Drop the triggers (reverse migration only)."""
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "postgresql":
                for op in ("append_only", "no_truncate"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_{op} ON {table};")
            else:
                for op in ("update", "delete"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op};")


@contextmanager
def triggers_disabled(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Take the guards down for the duration, as only the database owner can.

    For test set-up (flushing tables between tests) and for tamper tests; never used by the
    application itself.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks pending in this transaction would block ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE;")
            for table in LEDGER_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER;")
        else:
            remove_guards(connection)
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for table in LEDGER_TABLES:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER;")
        else:
            install_guards(connection)


PG_TXID_DEFAULT = (
    "ALTER TABLE audit_ledgerintake ALTER COLUMN txid "
    "SET DEFAULT (pg_current_xact_id()::text::bigint);"
)


_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def grant_statements(role: str) -> list[str]:
    """SQL that leaves `role` SELECT and INSERT (and sequence use) on the ledger tables only."""
    if not _ROLE_NAME.fullmatch(role):
        raise ValueError(f"role name {role[:70]!r} must be a plain lower-case SQL identifier")
    statements = []
    for table in LEDGER_TABLES:
        statements.append(
            f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {table} FROM {role};"
        )
        statements.append(f"GRANT SELECT, INSERT ON {table} TO {role};")
    return statements
