"""Reads of the alert queue (detection's alerts as auditors see them on the dashboard).

Every function takes the auditor's scope and applies it in the query: a national auditor sees
every alert; a privacy officer sees the alerts of their organisation(s) and never a restricted
one (an alert about a person protected from disclosure, 不開示), not even in a count. An alert
outside the scope is as absent as one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from agencies.models import Organization
from audit.entries import parse_leaf
from audit.models import LedgerIntake
from audit.selectors import AUDITORS_GROUP
from core.calendar import TOKYO
from dashboard.access import AuditorScope
from dashboard.facts import EntryFacts, entry_facts
from dashboard.selectors import organizations_by_volume
from detection.events import ALERT_TRIAGED
from detection.models import Alert, AlertEntry, AlertNote, AlertStatus, PrivacyOfficer

PAGE_SIZE = 50
# Linked entries shown on one page of an alert: each is read from the ledger and each subject
# among them is a recorded look, so a volume alert of hundreds is paged.
ENTRIES_PAGE_SIZE = 50
OPEN_STATUSES = (AlertStatus.NEW, AlertStatus.INVESTIGATING)


@dataclass(frozen=True)
class AlertFilter:
    """The queue's filters; empty values filter nothing. Dates are the alert's (Tokyo) day."""

    severity: str = ""
    rule: str = ""
    organization: str = ""  # 団体コード
    status: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    staff: str = ""  # staff pseudonym
    assignee: int | None = None  # user id


def _organization_ids(codes: frozenset[str]) -> list[int]:
    return list(Organization.objects.filter(code__in=sorted(codes)).values_list("pk", flat=True))


def alerts_in_scope(scope: AuditorScope) -> QuerySet[Alert]:
    """Every alert this auditor may see: all for a national auditor; a privacy officer's
    organisations' alerts without the restricted ones."""
    alerts = Alert.objects.all()
    if scope.national:
        return alerts
    return alerts.filter(
        restricted=False, organization_id__in=_organization_ids(scope.organizations)
    )


def alerts_matching(scope: AuditorScope, filters: AlertFilter) -> QuerySet[Alert]:
    """The alerts in scope that pass the filters, newest first."""
    alerts = alerts_in_scope(scope)
    if filters.severity:
        alerts = alerts.filter(severity=filters.severity)
    if filters.rule:
        alerts = alerts.filter(rule=filters.rule)
    if filters.status:
        alerts = alerts.filter(status=filters.status)
    if filters.organization:
        alerts = alerts.filter(organization__code=filters.organization)
    if filters.date_from:
        alerts = alerts.filter(day__gte=filters.date_from)
    if filters.date_to:
        alerts = alerts.filter(day__lte=filters.date_to)
    if filters.staff:
        alerts = alerts.filter(staff_pseudonym=filters.staff)
    if filters.assignee is not None:
        alerts = alerts.filter(assignee_id=filters.assignee)
    return alerts.order_by("-created_at", "-pk")


def alert_page(alerts: QuerySet[Alert], number: str | None) -> Page[Alert]:
    """One page of PAGE_SIZE alerts (the last one for a number beyond it, the first for
    anything that is not a number)."""
    paginator = Paginator(alerts.select_related("organization", "assignee"), PAGE_SIZE)
    return paginator.get_page(number)


def iter_alerts_export(alerts: QuerySet[Alert]) -> Iterator[Alert]:
    """The alerts for a CSV, read in chunks through a server-side cursor."""
    return alerts.select_related("organization", "assignee").iterator(chunk_size=2000)


def alert_in_scope(scope: AuditorScope, alert_id: int) -> Alert | None:
    """The alert if it exists and this auditor may see it, else None."""
    return (
        alerts_in_scope(scope)
        .select_related("organization", "assignee")
        .filter(pk=alert_id)
        .first()
    )


def new_alert_count(scope: AuditorScope) -> int:
    """How many alerts in scope are new (not yet triaged)."""
    return alerts_in_scope(scope).filter(status=AlertStatus.NEW).count()


def staff_alerts(scope: AuditorScope, pseudonym: str, *, limit: int = 20) -> list[Alert]:
    """A staff pseudonym's latest alerts in scope."""
    return list(
        alerts_in_scope(scope)
        .filter(staff_pseudonym=pseudonym)
        .select_related("organization", "assignee")
        .order_by("-created_at", "-pk")[:limit]
    )


def assignees_for(alert: Alert) -> list[Any]:
    """Who an alert may be given to: the national auditors, and for an unrestricted alert the
    privacy officers in office of its organisation (those who can see it)."""
    who = Q(groups__name=AUDITORS_GROUP)
    if not alert.restricted and alert.organization_id is not None:
        officers = PrivacyOfficer.objects.filter(
            organization_id=alert.organization_id, ended_at__isnull=True
        ).values("user_id")
        who |= Q(pk__in=officers)
    return list(
        get_user_model().objects.filter(who, is_active=True).distinct().order_by("username")
    )


@dataclass(frozen=True)
class TriageStep:
    """One step of an alert's triage as the ledger records it."""

    intake_id: int
    at: dt.datetime
    status: str
    reason: str
    assigned: bool | None
    actor: str


def alert_history(alert: Alert) -> list[TriageStep]:
    """The alert's triage steps read from the ledger (detection.alert_triaged entries, found
    by their lookup key, the alert's number), oldest first."""
    rows = (
        LedgerIntake.objects.filter(event_type=ALERT_TRIAGED, lookup_key=str(alert.pk))
        .order_by("id")
        .values_list("id", "created_at", "leaf")
    )
    steps = []
    for intake_id, created_at, leaf in rows:
        fields = parse_leaf(leaf).fields
        assigned = fields.get("assigned")
        steps.append(
            TriageStep(
                intake_id=intake_id,
                at=created_at,
                status=str(fields.get("status", "")),
                reason=str(fields.get("reason", "")),
                assigned=assigned if isinstance(assigned, bool) else None,
                actor=str(fields.get("actor", "")),
            )
        )
    return steps


def alert_notes(alert: Alert) -> list[AlertNote]:
    """The auditors' notes on the alert, oldest first."""
    return list(alert.notes.select_related("author").order_by("created_at", "pk"))


@dataclass(frozen=True)
class LinkedEntries:
    """One page of an alert's ledger entries, read from the ledger, as this auditor may see
    them."""

    facts: list[EntryFacts]
    number: int
    pages: int
    total: int


def linked_entries(scope: AuditorScope, alert: Alert, page: int = 1) -> LinkedEntries:
    """Page `page` (from 1) of the alert's entries, in sequence order, each read from the
    ledger (dashboard.facts.entry_facts); entries the auditor may not see are left out."""
    seqs = AlertEntry.objects.filter(alert=alert).order_by("seq").values_list("seq", flat=True)
    total = seqs.count()
    pages = max(1, -(-total // ENTRIES_PAGE_SIZE))
    number = min(max(1, page), pages)
    start = (number - 1) * ENTRIES_PAGE_SIZE
    facts = []
    for seq in seqs[start : start + ENTRIES_PAGE_SIZE]:
        found = entry_facts(seq)
        if found is not None and scope.sees(found):
            facts.append(found)
    return LinkedEntries(facts=facts, number=number, pages=pages, total=total)


# --- charts ---------------------------------------------------------------------------------


def _since(days: int) -> dt.date:
    return timezone.localtime(timezone.now(), TOKYO).date() - dt.timedelta(days=days - 1)


def alerts_per_rule_per_day(
    scope: AuditorScope, *, days: int = 30
) -> list[tuple[dt.date, dict[str, int]]]:
    """Alerts in scope per (Tokyo) day of their findings and rule, for the last `days` days
    (today included), every day listed."""
    start = _since(days)
    counts: dict[dt.date, dict[str, int]] = defaultdict(dict)
    rows = (
        alerts_in_scope(scope)
        .filter(day__gte=start)
        .values_list("day", "rule")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for day, rule, n in rows:
        counts[day][rule] = n
    return [
        (start + dt.timedelta(days=i), counts.get(start + dt.timedelta(days=i), {}))
        for i in range(days)
    ]


def rule_totals(per_day: list[tuple[dt.date, dict[str, int]]]) -> list[tuple[str, int]]:
    """Each rule's total over the days, most first (then by code)."""
    totals: Counter[str] = Counter()
    for _, counts in per_day:
        totals.update(counts)
    return sorted(totals.items(), key=lambda p: (-p[1], p[0]))


@dataclass(frozen=True)
class AlertRate:
    """An organisation's alerts per 1,000 of its requests over a period."""

    organization: str  # 団体コード
    alerts: int
    requests: int

    @property
    def rate(self) -> float:
        return round(1000 * self.alerts / self.requests, 1) if self.requests else 0.0


def organizations_by_alert_rate(
    scope: AuditorScope, *, days: int = 30, limit: int = 15
) -> list[AlertRate]:
    """Requesting organisations in scope by alerts per 1,000 requests over the last `days`
    days (alerts by their day, requests as the charts count them), highest first. An
    organisation with alerts but no counted request is listed with rate 0 and its alerts."""
    alerts = dict(
        alerts_in_scope(scope)
        .filter(day__gte=_since(days), organization__isnull=False)
        .values_list("organization__code")
        .annotate(n=Count("pk"))
        .order_by()
    )
    requests = dict(organizations_by_volume(scope, days=days, limit=100_000))
    if not scope.national:
        requests = {k: v for k, v in requests.items() if k in scope.organizations}
    rates = [
        AlertRate(code, alerts.get(code, 0), requests.get(code, 0))
        for code in set(alerts) | set(requests)
    ]
    rates.sort(key=lambda r: (-r.rate, -r.alerts, r.organization))
    return rates[:limit]
