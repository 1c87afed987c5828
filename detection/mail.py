"""Detection's mails (異常検知の通知): an immediate mail for each new high-severity alert and a
daily digest per organisation, composed here and delivered through the one outbox
(core.outbox), so that nothing is lost while SMTP or the broker is down and nothing is sent
twice.

What a mail may hold: rule codes and titles, counts, staff and subject pseudonyms, times, and
links to the alert's page on the auditors' dashboard (/audit/alerts/<id>/). Never a My Number
or a resident's name. An alert about a person protected from disclosure (不開示) goes to the
national auditors only; no mail to a requesting organisation, immediate or digest, counts or
mentions one.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from agencies.models import Organization
from core.calendar import TOKYO
from core.outbox import outbox_enqueue
from detection.models import Alert
from detection.rules import RULES, Rule
from detection.selectors import (
    OfficerBook,
    alerts_open_count,
    alerts_opened_on,
    officers_for,
)

ALERT_MAIL = "detection.alert"
DIGEST_MAIL = "detection.digest"
DIGEST_LIST_LIMIT = 50


@dataclass(frozen=True)
class Message:
    """A composed mail: subject, plain text and its HTML alternative."""

    subject: str
    text: str
    html: str


def _url(path: str) -> str:
    return settings.AUDIT_BASE_URL.rstrip("/") + path


def rule_title(rule: Rule, language: str) -> str:
    return rule.title_ja if language == "ja" else rule.title_en


def rule_explanation(rule: Rule, language: str) -> str:
    return rule.explanation_ja if language == "ja" else rule.explanation_en


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")


def compose_alert(alert: Alert, *, language: str) -> Message:
    """The immediate mail about one alert, in language (ja or en)."""
    rule = RULES[alert.rule]
    organization = alert.organization
    context = {
        "alert": alert,
        "rule_title": rule_title(rule, language),
        "explanation": rule_explanation(rule, language),
        "organization": organization,
        "first_at": _local(alert.first_at),
        "last_at": _local(alert.last_at),
        "alert_url": _url(alert.get_absolute_url()),
    }
    with translation.override(language):
        subject = render_to_string("detection/mail/alert_subject.txt", context).strip()
        return Message(
            " ".join(subject.split()),
            render_to_string("detection/mail/alert.txt", context),
            render_to_string("detection/mail/alert.html", context),
        )


def alert_mails_enqueue(*, alert: Alert, book: OfficerBook | None = None) -> int:
    """Queue the immediate mail of a newly opened alert of high severity to each of its
    recipients (officers_for, or the book of officers the caller read once), in the caller's
    transaction; returns how many. One mail per alert and recipient, ever (the outbox's
    dedupe key)."""
    if alert.severity != "high":
        return 0
    find = book.officers_for if book is not None else officers_for
    officers = find(organization_id=alert.organization_id, restricted=alert.restricted)
    for officer in officers:
        message = compose_alert(alert, language=officer.language)
        outbox_enqueue(
            kind=ALERT_MAIL,
            dedupe_key=f"{ALERT_MAIL}:{alert.pk}:{officer.key}",
            to=officer.email,
            subject=message.subject,
            body=message.text,
            html=message.html,
        )
    return len(officers)


@dataclass(frozen=True)
class RuleCount:
    code: str
    title: str
    severity: str
    count: int


def compose_digest(
    *,
    day: dt.date,
    organization: Organization | None,
    alerts: list[Alert],
    open_count: int,
    language: str,
) -> Message:
    """The daily digest of one organisation (or, with none, the national auditors' digest of
    alerts about 不開示 persons): counts per rule, the staff pseudonyms with most alerts, and
    a link to each alert."""
    per_rule = Counter(a.rule for a in alerts)
    counts = [
        RuleCount(code, rule_title(RULES[code], language), RULES[code].severity, n)
        for code, n in sorted(per_rule.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    top_staff = Counter(a.staff_pseudonym for a in alerts if a.staff_pseudonym).most_common(5)
    listed = [
        {
            "alert": a,
            "title": rule_title(RULES[a.rule], language),
            "url": _url(a.get_absolute_url()),
        }
        for a in alerts[:DIGEST_LIST_LIMIT]
    ]
    context = {
        "day": day.isoformat(),
        "organization": organization,
        "national": organization is None,
        "total": len(alerts),
        "counts": counts,
        "top_staff": top_staff,
        "listed": listed,
        "more": max(0, len(alerts) - DIGEST_LIST_LIMIT),
        "open_count": open_count,
        "alerts_url": _url("/audit/alerts/"),
    }
    with translation.override(language):
        subject = render_to_string("detection/mail/digest_subject.txt", context).strip()
        return Message(
            " ".join(subject.split()),
            render_to_string("detection/mail/digest.txt", context),
            render_to_string("detection/mail/digest.html", context),
        )


@transaction.atomic
def digest_send(*, day: dt.date, organization_id: int | None) -> int:
    """Queue the daily digest of day (Tokyo) to the organisation's privacy officers (or, with
    organization_id None, to the national auditors, covering the alerts about 不開示 persons
    of every organisation); returns how many mails. A day without alerts sends nothing. Run
    twice, it queues nothing new (the outbox's dedupe key)."""
    national = organization_id is None
    alerts = list(alerts_opened_on(day=day, organization_id=organization_id, restricted=national))
    if not alerts:
        return 0
    organization = None if organization_id is None else Organization.objects.get(pk=organization_id)
    officers = officers_for(organization_id=organization_id, restricted=national)
    open_count = alerts_open_count(organization_id=organization_id, restricted=national)
    for officer in officers:
        message = compose_digest(
            day=day,
            organization=organization,
            alerts=alerts,
            open_count=open_count,
            language=officer.language,
        )
        outbox_enqueue(
            kind=DIGEST_MAIL,
            dedupe_key=f"{DIGEST_MAIL}:{organization_id or 'national'}:{day.isoformat()}:"
            f"{officer.key}",
            to=officer.email,
            subject=message.subject,
            body=message.text,
            html=message.html,
        )
    return len(officers)
