"""The demo's logins: the one demo password, the auditors' group, the logins worth showing in
the tour (read from the database), and the file of agency API keys."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db.models import Count

from agencies.models import LinkageRequest, LinkageStatus, StaffMember, StaffRole
from audit.selectors import AUDITORS_GROUP

DEMO_PASSWORD = "yaritori-demo"
"""The one password of every demo login (admin, auditor and all staff). Demo only."""

PRIVACY_OFFICER = "privacy.sapporo"
"""The demo's privacy officer of Sapporo (detection.PrivacyOfficer)."""


# (organisation slug, department code) of the staff logins worth showing in the tour.
TOUR_LOGINS = [
    ("sapporo", "1060"),
    ("sapporo", "3010"),
    ("yokohama", "1050"),
    ("yokohama", "2010"),
    ("sendai", "3010"),
    ("hayama", "1050"),
    ("kanagawa", "1030"),
    ("nenkin", "0110"),
    ("jasso", "0110"),
    ("kyoukaikenpo", "0110"),
]


def demo_logins() -> list[tuple[str, str]]:
    """The demo logins worth showing (username, what it is), read from the database: admin,
    the auditor and one clerk of each department of the tour. All use DEMO_PASSWORD."""
    users = get_user_model().objects
    logins: list[tuple[str, str]] = []
    if users.filter(username="admin", is_superuser=True).exists():
        logins.append(("admin", "Django 管理サイトのスーパーユーザー (superuser)"))
    if users.filter(username="auditor", groups__name=AUDITORS_GROUP).exists():
        logins.append(("auditor", f"監査担当 (group {AUDITORS_GROUP}), /audit/"))
    officer = users.filter(username=PRIVACY_OFFICER, privacy_officer_roles__ended_at__isnull=True)
    if officer.exists():
        logins.append((PRIVACY_OFFICER, "札幌市 個人情報保護担当 (privacy officer), /audit/"))
    for slug, dept_code in TOUR_LOGINS:
        staff = (
            StaffMember.objects.filter(
                user__username__startswith=slug + ".",
                department__code=dept_code,
                role=StaffRole.CLERK,
            )
            .select_related("user", "institution__organization", "department")
            .annotate(n_affairs=Count("assigned_affairs"))
            .order_by("user__username")
            .first()
        )
        if staff is not None:
            what = f"{staff.institution.organization.name} {staff.department.name}"
            if staff.person_id:
                what += "（本人の住民記録あり）"
            logins.append((staff.user.username, f"{what}, 担当事務 {staff.n_affairs}件"))
    # The provider side of the tour: an operator of the institution with most requests on hold.
    busiest = (
        LinkageRequest.objects.filter(status=LinkageStatus.HELD)
        .values("provider")
        .annotate(n=Count("id"))
        .order_by("-n", "provider")
        .first()
    )
    operator = (
        StaffMember.objects.filter(
            role=StaffRole.PROVIDER_OPERATOR, institution_id=busiest["provider"]
        )
        .select_related("user", "institution__organization")
        .order_by("user__username")
        .first()
        if busiest is not None
        else None
    )
    if operator is not None:
        logins.append(
            (operator.user.username, f"{operator.institution} 提供担当（保留中の照会に回答）")
        )
    counter = (
        StaffMember.objects.filter(user__groups__permissions__codename="counter_clerk")
        .select_related("user", "institution__organization")
        .order_by("user__username")
        .first()
    )
    if counter is not None:
        logins.append(
            (counter.user.username, f"{counter.institution} 窓口（カードの交付・暗証番号の初期化）")
        )
    return logins


def write_api_keys(
    path: Path,
    keys: Sequence[tuple[str, str, str]],
    operators: Sequence[tuple[str, str, str]] = (),
) -> None:
    """Write agency API keys and operator credentials (shown once) to path, readable by the
    owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Yaritori demo agency API keys. Shown once; only their SHA-256 is in the database.",
        "# A request presents the system's key (Authorization: Bearer yk_...) and the operating",
        "# staff member's own credential (X-Operator-Credential: yo_...).",
        "# system<TAB>institution_code<TAB>system name<TAB>key",
    ]
    lines += [f"system\t{code}\t{name}\t{key}" for code, name, key in keys]
    lines.append("# operator<TAB>institution_code<TAB>username<TAB>credential")
    lines += [f"operator\t{code}\t{user}\t{secret}" for code, user, secret in operators]
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
