"""Database helpers for the few hot paths that bypass the ORM's query compiler, and the one
bulk insert (COPY on PostgreSQL) used by the ledger's sequencer, the demo loader and the
benchmarks.

Compiling a queryset costs about 0.4 ms of CPU, ten times the round trip of a simple
statement on this machine; a linkage request makes several reads and every one of them is
on the hot path. These helpers run plain, portable SQL on the connection Django already
holds, inside the caller's transaction.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model

_local = threading.local()  # Django keeps one connection per thread, so do we
_NAMED = re.compile(r"%\((\w+)\)s")


def driver_cursor() -> Any:
    """A reusable cursor of the database driver on Django's connection for this thread.

    Creating Django's cursor wrapper costs as much CPU as a small statement; this one is made
    once per connection. Statements run in whatever transaction Django has open. On
    PostgreSQL they are prepared once per connection and reused.

    Like Django's own cursor(), it runs the connection's health check first (once per
    request, CONN_HEALTH_CHECKS): a persistent connection that the server dropped while the
    worker was idle (a restart, a failover) is replaced here, before this request's first
    statement, instead of failing that statement with a 500.
    """
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if getattr(_local, "raw", None) is not raw or getattr(_local.cursor, "closed", False):
        _local.raw = raw
        _local.cursor = _new_cursor(raw)
    return _local.cursor


def _new_cursor(raw: Any) -> Any:
    if connection.vendor != "postgresql":
        return raw.cursor()
    import psycopg

    # Server-side binding, unlike the client-side cursors Django uses, so that statements can
    # be prepared (fetch_one). Django leaves preparing off (threshold None); a threshold that
    # is never reached turns it on for explicit prepare=True only, so no other query changes.
    if raw.prepare_threshold is None:
        raw.prepare_threshold = 2**31 - 1
    return psycopg.Cursor(raw)


@cache
def driver_sql(sql: str, vendor: str) -> str:
    """sql written with psycopg's placeholders (%s, %(name)s) in the style of the vendor's
    driver: unchanged for PostgreSQL, ? and :name for sqlite3."""
    if vendor != "sqlite":
        return sql
    return _NAMED.sub(r":\1", sql).replace("%s", "?")


def fetch_one(sql: str, params: Mapping[str, Any] | list[Any]) -> tuple[Any, ...] | None:
    """Run one statement, written with psycopg's placeholders, and return its first row or
    None. Database errors are raised as django.db errors."""
    cursor = driver_cursor()
    with connection.wrap_database_errors:
        if connection.vendor == "postgresql":
            # Prepared once per connection (psycopg keeps them): PostgreSQL stops planning
            # the same hot statements on every request, which cost more than running them.
            cursor.execute(sql, params, prepare=True)
        else:
            cursor.execute(driver_sql(sql, connection.vendor), params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


@cache
def insert_sql(
    model: type[Model], vendor: str, unless_taken: str | None = None
) -> tuple[str, tuple[Field[Any, Any], ...]]:
    """The INSERT ... RETURNING pk statement of a model (automatic primary key) for a vendor,
    with the fields whose values it takes, in order (see insert_values).

    With unless_taken (a unique field's name), a row whose value of that field is already
    stored makes the INSERT do nothing and return no row, instead of raising IntegrityError:
    the caller's transaction survives the collision.
    """
    meta = model._meta
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    returning = quote(meta.pk.column)
    table = quote(meta.db_table)
    on_conflict = ""
    if unless_taken is not None:
        taken = meta.get_field(unless_taken)
        assert isinstance(taken, Field) and taken.unique and taken.column
        on_conflict = f" ON CONFLICT ({quote(taken.column)}) DO NOTHING"
    values = f"VALUES ({placeholders}){on_conflict} RETURNING {returning}"
    return f"INSERT INTO {table} ({columns}) {values}", fields


def insert_values(obj: Model, fields: tuple[Field[Any, Any], ...]) -> list[Any]:
    """obj's values for insert_sql's fields, each prepared as save() prepares it (pre_save,
    get_db_prep_save)."""
    return [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]


def mark_inserted(obj: Model, pk: Any) -> None:
    """Record on obj that it is now stored under pk, as save() does."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


def insert_returning_pk(obj: Model, *, unless_taken: str | None = None) -> bool:
    """INSERT a new obj (automatic primary key) with one prepared statement and set its
    primary key, as `obj.save(force_insert=True)` does, without the ORM's query compiler.
    True when the row was stored; False, storing nothing, when unless_taken names a unique
    field whose value is already taken (see insert_sql).

    No signals are sent: use it only for models that nothing listens to.
    """
    sql, fields = insert_sql(type(obj), connection.vendor, unless_taken)
    row = fetch_one(sql, insert_values(obj, fields))
    if row is None:
        return False
    mark_inserted(obj, row[0])
    return True


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column  # a concrete column, not a relation
    return field.column


def insert_rows(
    model: type[Model],
    fields: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    *,
    return_ids: bool = False,
    per_statement: int = 1000,
) -> list[int]:
    """Insert many rows of model at once, in the caller's transaction; the new primary keys in
    row order when return_ids (rows must then be a sequence).

    Values are passed to the driver as they are: prepare them first where the driver would
    not take the Python value (e.g. `field.get_db_prep_save`). PostgreSQL gets COPY (about ten
    times the ORM's bulk_create here), with the ids taken from the table's sequence
    beforehand; SQLite gets multi-row INSERT ... RETURNING. Table and column names come from
    the model's _meta; values always travel as parameters. rows may be a generator: on
    PostgreSQL it is streamed, so a million rows never sit in memory at once.
    """
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = [quote(_column(model, name)) for name in fields]
    ids: list[int] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if return_ids:
                listed = list(rows)
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [meta.db_table, meta.pk.column, len(listed)],
                )
                ids = [row[0] for row in cursor.fetchall()]
                columns.insert(0, quote(meta.pk.column))
                rows = [(pk, *row) for pk, row in zip(ids, listed, strict=True)]
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return ids
        placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
        returning = f" RETURNING {quote(meta.pk.column)}" if return_ids else ""
        pending = iter(rows)
        while batch := list(itertools.islice(pending, per_statement)):
            values = ", ".join([placeholder] * len(batch))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}{returning}"  # noqa: S608
            cursor.execute(sql, [value for row in batch for value in row])
            if return_ids:
                ids += [row[0] for row in cursor.fetchall()]
    return ids
