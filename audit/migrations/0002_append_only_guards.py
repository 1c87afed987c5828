"""Append-only guards in the database, and the writer transaction id on PostgreSQL."""

from django.db import migrations

from audit.db_guards import PG_TXID_DEFAULT, install_guards, remove_guards

# Frozen here: a later migration that adds a ledger table guards it itself.
TABLES = (
    "audit_ledgerintake",
    "audit_ledgerentry",
    "audit_merklesubtree",
    "audit_checkpoint",
    "audit_witnesscosignature",
)


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    install_guards(connection, TABLES)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(PG_TXID_DEFAULT)


def backwards(apps, schema_editor):
    remove_guards(schema_editor.connection, TABLES)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
