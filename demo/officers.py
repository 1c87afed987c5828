"""The demo's recipients of detection mails and the auditors' permissions on detection: one
privacy officer per organisation, one national auditor, and the `auditor` login allowed to
triage alerts, set the rules and keep the watchlist in the admin."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from agencies.models import Organization
from audit.selectors import AUDITORS_GROUP
from detection.models import PrivacyOfficer

# What the auditors do in the admin until the dashboard exists (detection/admin.py).
AUDITOR_PERMISSIONS = (
    "view_alert",
    "change_alert",
    "view_restricted_alert",
    "view_rulesetting",
    "change_rulesetting",
    "view_watchlistentry",
    "add_watchlistentry",
    "change_watchlistentry",
    "view_privacyofficer",
)


def privacy_officers_create() -> int:
    """Give every organisation a privacy officer and the demo a national auditor (mail to
    var/mail under `make run`); returns how many were created. Running it again adds none."""
    created = 0
    for org in Organization.objects.order_by("code"):
        _, new = PrivacyOfficer.objects.get_or_create(
            organization=org,
            email=f"privacy-{org.code}@demo.invalid",
            defaults={"name": f"{org.name} 個人情報保護責任者"},
        )
        created += new
    _, new = PrivacyOfficer.objects.get_or_create(
        organization=None,
        email="auditor@ppc.demo.invalid",
        defaults={"name": "個人情報保護委員会 監査担当"},
    )
    created += new
    group, _ = Group.objects.get_or_create(name=AUDITORS_GROUP)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="detection", codename__in=AUDITOR_PERMISSIONS
        )
    )
    return created
