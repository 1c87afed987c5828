"""What the alert pages show of alerts, prepared in Python (labels in the page's language,
links, times): the queue's rows, the staff page's table of a member's alerts, and the charts
page's alert charts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard import alert_selectors as selectors
from dashboard import charts
from dashboard.access import AuditorScope
from dashboard.alert_forms import rule_title
from dashboard.charts import Series
from dashboard.selectors import organization_names
from detection.models import Alert, AlertStatus, DismissReason
from detection.rules import RULES, Severity


def label(choices: Any, value: str) -> str:
    """The label of value among choices, in the page's language."""
    return str(dict(choices).get(value, value)) if value else ""


def alert_url(alert_id: int, purpose: str = "") -> str:
    """The alert's page, with the purpose of the look when one was stated."""
    url = reverse("dashboard:alert", args=[alert_id])
    return f"{url}?{urlencode({'purpose': purpose})}" if purpose else url


def alert_rows(alerts: list[Alert], purpose: str = "") -> list[dict[str, Any]]:
    """What a table row shows of each alert (dashboard/_alert_table.html), as strings made
    here: per-row template filters and lookups cost more than the queue's queries (measured,
    bench dashboard)."""
    zone = timezone.get_current_timezone()
    severities = {k: str(v) for k, v in Severity.choices}
    statuses = {k: str(v) for k, v in AlertStatus.choices}
    reasons = {k: str(v) for k, v in DismissReason.choices}
    titles = {code: rule_title(rule) for code, rule in RULES.items()}
    # One reverse() for the page, not one per row.
    base = alert_url(0, purpose).replace("/0/", "/{}/", 1)
    return [
        {
            "id": str(a.pk),
            "href": base.format(a.pk),
            "select_label": _("Select alert #%(id)s") % {"id": a.pk},
            "rule": a.rule,
            "title": titles.get(a.rule, a.rule),
            "restricted": a.restricted,
            "severity_code": a.severity,
            "severity": severities.get(a.severity, a.severity),
            "status_code": a.status,
            "status": statuses.get(a.status, a.status),
            "reason": reasons.get(a.dismiss_reason, "") if a.dismiss_reason else "",
            "organization": f"{a.organization.name} ({a.organization.code})"
            if a.organization
            else "—",
            "staff": a.staff_pseudonym or "—",
            "day": a.day.isoformat(),
            "entries": str(a.entry_count),
            "assignee": a.assignee.get_username() if a.assignee else "—",
            "detected": timezone.localtime(a.created_at, zone).strftime("%Y-%m-%d %H:%M"),
        }
        for a in alerts
    ]


# --- charts ---------------------------------------------------------------------------------

# Rules beyond the five most frequent are drawn together, so that each series keeps a pattern
# of its own (there are six).
_RULE_STYLES = [
    ("#b3261e", "solid"),
    ("#1d5fa8", "diagonal"),
    ("#c98a00", "dots"),
    ("#1d7a3a", "cross"),
    ("#6b3fa0", "horizontal"),
    ("#5f6368", "vertical"),
]
OTHER_RULES = "other"


@dataclass(frozen=True)
class AlertCharts:
    """The charts page's alert charts: alerts per rule per day (stacked) with its series, and
    organisations by alert rate (horizontal bars) with the rates behind them."""

    per_rule: charts.StackedBars
    per_rule_rows: list[tuple[str, list[int], int]]  # day, per series, total
    rates: charts.HorizontalBars
    rate_rows: list[tuple[str, selectors.AlertRate]]  # name, rate


def alert_charts(scope: AuditorScope, *, days: int = 30) -> AlertCharts:
    """Alerts per rule over the last `days` days and organisations by alerts per 1,000
    requests, over the auditor's scope."""
    per_day = selectors.alerts_per_rule_per_day(scope, days=days)
    top = [code for code, _ in selectors.rule_totals(per_day)[: len(_RULE_STYLES) - 1]]
    series = [
        Series(code.replace(".", "-"), rule_title(RULES[code]) if code in RULES else code, *style)
        for code, style in zip(top, _RULE_STYLES, strict=False)
    ]
    if len(selectors.rule_totals(per_day)) > len(top):
        series.append(Series(OTHER_RULES, _("Other rules"), *_RULE_STYLES[-1]))
    categories = []
    for day, counts in per_day:
        values: dict[str, int] = {}
        for code, n in counts.items():
            key = code.replace(".", "-") if code in top else OTHER_RULES
            values[key] = values.get(key, 0) + n
        categories.append((day.strftime("%m/%d"), values))
    per_rule = charts.stacked_bars(
        chart_id="alert-rules",
        title=_("Alerts per rule per day, last %(days)s days") % {"days": days},
        description=_(
            "Stacked bars, one per day; each rule has its own pattern and is named in the "
            "legend; the number above a bar is the day's total. The table below holds the "
            "same numbers."
        ),
        categories=categories,
        series=series,
    )
    rates = selectors.organizations_by_alert_rate(scope, days=days)
    names = organization_names([r.organization for r in rates])
    labelled = [(names.get(r.organization, r.organization), r) for r in rates]
    return AlertCharts(
        per_rule=per_rule,
        per_rule_rows=[
            (label, [values.get(s.key, 0) for s in series], sum(values.values()))
            for label, values in categories
        ],
        rates=charts.horizontal_bars(
            chart_id="alert-rates",
            title=_("Requesting organisations by alerts per 1,000 requests"),
            description=_(
                "Horizontal bars, highest rate first, each labelled with its rate; the table "
                "below gives the alerts and requests behind each rate."
            ),
            rows=[(name, r.organization, r.rate) for name, r in labelled],
        ),
        rate_rows=labelled,
    )
