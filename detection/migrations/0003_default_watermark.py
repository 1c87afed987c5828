from django.db import migrations


def create(apps, schema_editor):
    apps.get_model("detection", "ScanWatermark").objects.get_or_create(name="default")


class Migration(migrations.Migration):
    dependencies = [("detection", "0002_rule_settings")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
