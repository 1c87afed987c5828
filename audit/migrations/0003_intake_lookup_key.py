"""The lookup key of an entry (its event type's key field, e.g. a request id), indexed, so that
a page finds a request's entry in one lookup.

SQLite cannot add a NOT NULL column in place: Django rebuilds the table, which drops its
triggers with it, so the append-only guards of the intake table are installed again after.
"""

from django.db import migrations, models

from audit.db_guards import install_guards

TABLE = ("audit_ledgerintake",)


def guards_again(apps, schema_editor):
    install_guards(schema_editor.connection, TABLE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_guards")]
    operations = [
        migrations.AddField(
            model_name="ledgerintake",
            name="lookup_key",
            field=models.CharField(
                blank=True, default="", max_length=64, verbose_name="検索キー (Lookup key)"
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerintake",
            index=models.Index(
                condition=models.Q(("lookup_key", ""), _negated=True),
                fields=["lookup_key"],
                name="audit_intake_lookup_key",
            ),
        ),
        migrations.RunPython(guards_again, migrations.RunPython.noop),
    ]
