"""The database itself refuses UPDATE, DELETE and TRUNCATE on the ledger tables."""

import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from audit.db_guards import LEDGER_TABLES
from audit.ledger import ledger_append, ledger_integrate
from audit.models import (
    Checkpoint,
    LedgerEntry,
    LedgerIntake,
    MerkleSubtree,
    WitnessCosignature,
)
from audit.witnessing import witness_run
from tests.support.events import TEST_EVENT

# A column every row has, to write back unchanged: even that is refused.
KEY_COLUMN = {"audit_ledgerentry": "seq", "audit_merklesubtree": "level"}
MODELS = [LedgerIntake, LedgerEntry, MerkleSubtree, Checkpoint, WitnessCosignature]


@pytest.fixture
def ledger_rows(db, tmp_path):
    for _ in range(3):
        ledger_append(
            event_type=TEST_EVENT,
            fields={"request_id": str(uuid.uuid4()), "outcome": "provided"},
        )
    ledger_integrate()
    assert witness_run(directory=tmp_path).stored
    ledger_append(event_type=TEST_EVENT, fields={"outcome": "provided"})
    ledger_integrate()  # a second checkpoint, with no cosignature protecting it in the ORM


def refused(action):
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        action()
    assert "append-only" in str(exc.value) or "permission denied" in str(exc.value)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_orm_save_update_is_refused(ledger_rows, model):
    row = model.objects.first()
    refused(lambda: row.save())


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_queryset_update_and_delete_are_refused(ledger_rows, model):
    field = {
        LedgerIntake: "event_type",
        WitnessCosignature: "line",
        LedgerEntry: "leaf_hash",
        MerkleSubtree: "hash",
        Checkpoint: "note",
    }[model]
    value = b"\x00" * 32 if field in ("leaf_hash", "hash") else "x.y"
    refused(lambda: model.objects.update(**{field: value}))
    if model is LedgerIntake:
        # Integrated intake rows are also protected by the ORM; a pending one reaches the DB.
        ledger_append(event_type=TEST_EVENT, fields={"outcome": "held"})
        refused(lambda: LedgerIntake.objects.filter(entry__isnull=True).delete())
    elif model is Checkpoint:
        refused(lambda: Checkpoint.objects.filter(cosignatures__isnull=True).delete())
    else:
        refused(lambda: model.objects.all().delete())
    assert model.objects.count() > 0


@pytest.mark.parametrize("table", LEDGER_TABLES)
def test_raw_sql_is_refused(ledger_rows, table):
    def run(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)

    refused(lambda: run(f"DELETE FROM {table}"))
    column = KEY_COLUMN.get(table, "id")
    refused(lambda: run(f"UPDATE {table} SET {column} = {column}"))
    if connection.vendor == "postgresql":
        # Django's deferred foreign-key checks would otherwise block TRUNCATE before the guard.
        run("SET CONSTRAINTS ALL IMMEDIATE")
        refused(lambda: run(f"TRUNCATE {table} CASCADE"))


def test_rows_survive_every_attempt(ledger_rows):
    assert LedgerEntry.objects.count() == 4
    assert LedgerIntake.objects.count() == 4
