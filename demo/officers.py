"""The demo's recipients of detection mails and the auditors' permissions on detection: one
privacy officer per organisation, and the `auditor` login (a national auditor) allowed to
triage alerts, set the rules and keep the watchlist in the admin."""

from __future__ import annotations

from django.contrib.auth import get_user_model
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
    """Give every organisation without one a privacy officer who receives detection's mails
    (var/mail under `make run`): a user without a password (no login; Sapporo's officer, who
    has one, is the world's), appointed on the ledger like any other. National auditors are
    the auditors group, whose demo login has an address. Grants the group its detection
    permissions. Returns how many officers were appointed; running it again appoints none."""
    from dashboard.services import privacy_officer_appoint

    users = get_user_model().objects
    created = 0
    for org in Organization.objects.order_by("code"):
        if PrivacyOfficer.objects.filter(organization=org, ended_at__isnull=True).exists():
            continue
        user, new = users.get_or_create(
            username=f"privacy.{org.code}",
            defaults={"email": f"privacy-{org.code}@demo.invalid", "last_name": org.name},
        )
        if new:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        privacy_officer_appoint(actor=None, user=user, organization=org)
        created += 1
    group, _ = Group.objects.get_or_create(name=AUDITORS_GROUP)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="detection", codename__in=AUDITOR_PERMISSIONS
        )
    )
    return created
