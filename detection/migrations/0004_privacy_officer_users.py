# One list of privacy officers for detection's mails and the auditors' dashboard: an officer is
# a user appointed for an organisation on the ledger (dashboard.services), mailed at the user's
# address; national auditors are the auditors group. The former mail-only rows (name, address)
# had no ledger history and are not carried over: appoint the officers again.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0006_capacities_and_ordinances"),
        ("detection", "0003_default_watermark"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.DeleteModel(name="PrivacyOfficer"),
        migrations.CreateModel(
            name="PrivacyOfficer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "language",
                    models.CharField(
                        choices=[("ja", "日本語"), ("en", "English")],
                        default="ja",
                        max_length=2,
                        verbose_name="言語 (Language)",
                    ),
                ),
                ("appointed_at", models.DateTimeField(verbose_name="任命日時 (Appointed at)")),
                (
                    "ended_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="終了日時 (Ended at)"),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="privacy_officers",
                        to="agencies.organization",
                        verbose_name="団体 (Organisation)",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="privacy_officer_roles",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="ユーザー (User)",
                    ),
                ),
            ],
            options={
                "verbose_name": "個人情報保護担当 (Privacy officer)",
                "verbose_name_plural": "個人情報保護担当 (Privacy officers)",
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("ended_at__isnull", True)),
                        fields=("user", "organization"),
                        name="detection_one_live_officer_role",
                    )
                ],
            },
        ),
    ]
