from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_labels_translated"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="html",
            field=models.TextField(blank=True, default="", verbose_name="HTML body"),
        ),
    ]
