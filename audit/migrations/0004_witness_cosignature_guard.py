"""Append-only guard for the witness cosignature table."""

from django.db import migrations

from audit.db_guards import install_guards, remove_guards

TABLES = ("audit_witnesscosignature",)


def forwards(apps, schema_editor):
    install_guards(schema_editor.connection, TABLES)


def backwards(apps, schema_editor):
    remove_guards(schema_editor.connection, TABLES)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_witness_cosignature")]
    operations = [migrations.RunPython(forwards, backwards)]
