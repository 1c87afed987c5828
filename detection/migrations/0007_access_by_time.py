# The window rules read the requests of a time range (detection.scanner): one index by time, in
# place of those by subject and by staff member, which every request wrote at a random place.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0008_labels_translated"),
        ("detection", "0006_labels_translated"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="access", name="detection_access_subject"),
        migrations.RemoveIndex(model_name="access", name="detection_access_staff"),
        migrations.AddIndex(
            model_name="access",
            index=models.Index(fields=["at"], name="detection_access_at"),
        ),
    ]
