"""Views of the alert queue (/audit/alerts/): the queue with its filters, bulk actions and CSV,
one alert with its triage and linked entries, the rule settings and the watchlist; and the
alert charts of the charts page. Thin: reads go through dashboard.alert_selectors with the
auditor's scope, writes through dashboard.alert_services, which check the role again. An alert
outside the auditor's scope is a 404 like one that does not exist; so are the rules and the
watchlist for privacy officers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dashboard import alert_selectors as selectors
from dashboard import alert_services as services
from dashboard import services as dashboard_services
from dashboard.access import AuditorScope, NotAllowed, auditor_required
from dashboard.alert_display import alert_rows, alert_url, label
from dashboard.alert_forms import (
    AlertFilterForm,
    AssignForm,
    BulkForm,
    NoteForm,
    RuleForm,
    TriageForm,
    WatchAddForm,
    rule_explanation,
    rule_title,
)
from dashboard.facts import EntryFacts
from dashboard.purposes import ViewPurpose, purpose_or_none
from dashboard.selectors import organization_names
from dashboard.views import _context, _Echo, _rows, csv_response, purpose_page
from detection.models import Alert, AlertStatus, DismissReason, RuleSetting, WatchlistEntry
from detection.rules import RULES, Family, Severity
from detection.services import TRANSITIONS, DetectionError
from portal.selectors import reference_names

# --- the queue ------------------------------------------------------------------------------


def _queue_page(
    request: HttpRequest, scope: AuditorScope, *, bulk: BulkForm | None = None, status: int = 200
) -> HttpResponse:
    form = AlertFilterForm(request.GET or None, scope=scope)
    page = None
    if not form.is_bound or form.is_valid():
        filters = form.to_filter() if form.is_bound else selectors.AlertFilter()
        page = selectors.alert_page(
            selectors.alerts_matching(scope, filters), request.GET.get("page")
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "dashboard/alerts.html",
        _context(
            request,
            scope,
            form=form,
            page=page,
            rows=alert_rows(list(page.object_list)) if page else [],
            query=query.urlencode(),
            bulk=bulk or BulkForm(),
        ),
        status=status,
    )


@require_GET
@auditor_required
def alerts(request: HttpRequest, scope: AuditorScope) -> HttpResponse:
    """The alert queue: filters (severity, rule, organisation, status, period, staff, mine),
    newest first, 50 a page, with bulk actions on the selected alerts."""
    return _queue_page(request, scope)


@require_POST
@auditor_required
def alerts_bulk(request: HttpRequest, scope: AuditorScope) -> HttpResponse:
    """One action on the selected alerts, each through detection's services (a ledger entry
    each); all or nothing. Back to the queue with its filters."""
    form = BulkForm(request.POST)
    # The queue's filters, parsed and encoded again: only a query string can come back.
    query = QueryDict(request.POST.get("query", "")).urlencode()
    back = reverse("dashboard:alerts") + (f"?{query}" if query else "")
    if not form.is_valid():
        return _queue_page(request, scope, bulk=form, status=400)
    try:
        changed = services.alerts_bulk(
            user=request.user,
            alert_ids=form.cleaned_data["alerts"],
            action=form.cleaned_data["action"],
            reason=form.cleaned_data.get("reason") or "",
        )
    except NotAllowed:
        raise Http404(_("No such alert.")) from None
    except DetectionError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    messages.success(request, _("%(n)s alerts changed.") % {"n": changed})
    return redirect(back)


CSV_COLUMNS = [
    ("id", "警報番号 (Alert)"),
    ("rule", "規則 (Rule)"),
    ("rule_title", "規則名 (Rule title)"),
    ("family", "種別 (Family)"),
    ("severity", "重要度 (Severity)"),
    ("status", "状態 (Status)"),
    ("dismiss_reason", "対応不要の理由 (Dismissal reason)"),
    ("organization", "団体 (Organisation)"),
    ("organization_name", "団体名 (Organisation name)"),
    ("staff", "職員仮名 (Staff pseudonym)"),
    ("subject", "本人仮名 (Subject pseudonym)"),
    ("day", "日 (Day)"),
    ("first_at", "最初の照会 (First entry, JST)"),
    ("last_at", "最後の照会 (Last entry, JST)"),
    ("entries", "照会件数 (Entries)"),
    ("created_at", "検知日時 (Detected, JST)"),
    ("assignee", "担当者 (Assignee)"),
    ("restricted", "不開示 (Restricted)"),
]


def _csv_lines(scope: AuditorScope, rows: Iterator[Alert]) -> Iterator[str]:
    columns = [c for c in CSV_COLUMNS if c[0] != "restricted" or scope.national]
    writer = csv.writer(_Echo())
    # A byte-order mark, so that Excel in Japan reads the file as UTF-8.
    yield "\ufeff" + writer.writerow([label for _, label in columns])
    zone = timezone.get_current_timezone()

    def local(moment: Any) -> str:
        return timezone.localtime(moment, zone).strftime("%Y-%m-%d %H:%M:%S")

    for a in rows:
        rule = RULES.get(a.rule)
        values = {
            "id": a.pk,
            "rule": a.rule,
            "rule_title": rule.title_ja if rule else "",
            "family": a.family,
            "severity": a.severity,
            "status": a.status,
            "dismiss_reason": a.dismiss_reason,
            "organization": a.organization.code if a.organization else "",
            "organization_name": a.organization.name if a.organization else "",
            "staff": a.staff_pseudonym,
            "subject": a.subject,
            "day": a.day.isoformat(),
            "first_at": local(a.first_at),
            "last_at": local(a.last_at),
            "entries": a.entry_count,
            "created_at": local(a.created_at),
            "assignee": a.assignee.get_username() if a.assignee else "",
            "restricted": str(a.restricted),
        }
        yield writer.writerow([values[key] for key, _ in columns])


@require_GET
@auditor_required
def alerts_csv(request: HttpRequest, scope: AuditorScope) -> HttpResponseBase:
    """The queue's alerts for the same filters as CSV (UTF-8 with a byte-order mark), streamed.
    Recorded in the log as an export (audit.view, view "export", naming the staff pseudonym
    when filtered by one)."""
    form = AlertFilterForm(request.GET, scope=scope)
    if not form.is_valid():
        return HttpResponse(
            _("The filters are not valid."), status=400, content_type="text/plain; charset=utf-8"
        )
    filters = form.to_filter()
    try:
        dashboard_services.export_record(
            user=request.user,
            staff=filters.staff,
            purpose=request.GET.get("purpose") or ViewPurpose.ALERT,
        )
    except NotAllowed as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    rows = selectors.iter_alerts_export(selectors.alerts_matching(scope, filters))
    return csv_response(_csv_lines(scope, rows), "alerts")


# --- one alert ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LinkedRow:
    """An alert's entry as the entries table shows it (the attributes of an IndexedEntry),
    from the leaf read from the ledger."""

    seq: int
    time: Any
    event_type: str
    requester: str
    provider: str
    institution: str
    organization: str
    affair: str
    item: str
    outcome: str
    staff: str
    subject: str
    nondisclosure: bool

    @classmethod
    def of(cls, facts: EntryFacts) -> _LinkedRow:
        f = facts.fields
        return cls(
            seq=facts.seq,
            time=facts.record.time,
            event_type=facts.record.event_type,
            nondisclosure=facts.nondisclosure,
            subject=facts.subject,
            **{
                name: str(f.get(name, ""))
                for name in (
                    "requester",
                    "provider",
                    "institution",
                    "organization",
                    "affair",
                    "item",
                    "outcome",
                    "staff",
                )
            },
        )


def _page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 7 else 1


@require_GET
@auditor_required
def alert(request: HttpRequest, scope: AuditorScope, alert_id: int) -> HttpResponse:
    """One alert: its rule (code, severity, explanation in the page's language), status,
    assignee, triage history and notes, the triage forms, and its linked entries read from
    the ledger, each linked to its entry page. The entries are about persons: a purpose is
    asked first and the look is recorded before they are shown."""
    purpose = request.GET.get("purpose", "")
    try:
        found = services.alert_view(
            user=request.user,
            alert_id=alert_id,
            purpose=purpose,
            page=_page_number(request.GET.get("page")),
        )
    except services.PurposeRequired:
        return purpose_page(
            request,
            scope,
            _("Alert #%(id)s links log entries about persons.") % {"id": alert_id},
            offered=ViewPurpose.ALERT,
        )
    except NotAllowed:
        raise Http404(_("No such alert.")) from None
    a = found.alert
    rule = RULES.get(a.rule)
    purpose = purpose_or_none(purpose) or ""
    names = reference_names()
    allowed = sorted(TRANSITIONS.get(a.status, frozenset()))
    triage = TriageForm(initial={"status": allowed[0] if len(allowed) == 1 else ""})
    status_field: Any = triage.fields["status"]
    status_field.choices = [("", _("Choose…"))] + [
        (s, label(AlertStatus.choices, s)) for s in allowed
    ]
    return render(
        request,
        "dashboard/alert.html",
        _context(
            request,
            scope,
            alert=a,
            rule=rule,
            title=rule_title(rule) if rule else a.rule,
            explanation=rule_explanation(rule) if rule else "",
            severity=label(Severity.choices, a.severity),
            family=label(Family.choices, a.family),
            status=label(AlertStatus.choices, a.status),
            dismiss_reason=label(DismissReason.choices, a.dismiss_reason),
            organization_name=organization_names([a.organization.code]).get(a.organization.code)
            if a.organization
            else "",
            history=[
                {
                    "step": s,
                    "status": label(AlertStatus.choices, s.status),
                    "reason": label(DismissReason.choices, s.reason),
                }
                for s in selectors.alert_history(a)
            ],
            notes=selectors.alert_notes(a),
            entries=found.entries,
            rows=_rows([_LinkedRow.of(f) for f in found.entries.facts], names, purpose),
            triage=triage,
            assign=AssignForm(
                initial={"assignee": a.assignee_id}, assignees=selectors.assignees_for(a)
            ),
            note_form=NoteForm(),
            purpose=purpose,
            staff_url=(
                reverse("dashboard:staff", args=[a.staff_pseudonym])
                + (f"?{urlencode({'purpose': purpose})}" if purpose else "")
            )
            if a.staff_pseudonym
            else "",
        ),
    )


def _after_post(request: HttpRequest, alert_id: int) -> HttpResponse:
    return redirect(alert_url(alert_id, purpose_or_none(request.POST.get("purpose")) or ""))


def _form_error(request: HttpRequest, form: Any) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))


def _triage_post(
    request: HttpRequest, scope: AuditorScope, alert_id: int, form: Any, call: Any, done: str
) -> HttpResponse:
    """Run a triage service on a valid form: 404 out of scope (an invalid form too, so that it
    tells nothing of an alert out of scope), the form's or the workflow's refusal as an error
    message (nothing written); back to the alert's page either way."""
    try:
        if not form.is_valid():
            selectors_alert_or_404(scope, alert_id)
            _form_error(request, form)
        else:
            call(form.cleaned_data)
            messages.success(request, done)
    except NotAllowed:
        raise Http404(_("No such alert.")) from None
    except DetectionError as exc:
        messages.error(request, str(exc))
    return _after_post(request, alert_id)


@require_POST
@auditor_required
def alert_status(request: HttpRequest, scope: AuditorScope, alert_id: int) -> HttpResponse:
    """Move the alert to a new status (a reason to dismiss it; an optional note)."""
    return _triage_post(
        request,
        scope,
        alert_id,
        TriageForm(request.POST),
        lambda data: services.alert_triage(
            user=request.user,
            alert_id=alert_id,
            status=data["status"],
            reason=data.get("reason") or "",
            note=data.get("note") or "",
        ),
        _("The alert's status was changed."),
    )


@require_POST
@auditor_required
def alert_assign(request: HttpRequest, scope: AuditorScope, alert_id: int) -> HttpResponse:
    """Give the alert to an auditor who may see it, or to nobody."""
    a = selectors_alert_or_404(scope, alert_id)
    return _triage_post(
        request,
        scope,
        alert_id,
        AssignForm(request.POST, assignees=selectors.assignees_for(a)),
        lambda data: services.alert_assign(
            user=request.user, alert_id=alert_id, assignee_id=data["assignee"]
        ),
        _("The alert's assignee was changed."),
    )


@require_POST
@auditor_required
def alert_note(request: HttpRequest, scope: AuditorScope, alert_id: int) -> HttpResponse:
    """Add a note to the alert (kept off the ledger)."""
    return _triage_post(
        request,
        scope,
        alert_id,
        NoteForm(request.POST),
        lambda data: services.alert_note(user=request.user, alert_id=alert_id, text=data["text"]),
        _("The note was added."),
    )


def selectors_alert_or_404(scope: AuditorScope, alert_id: int) -> Alert:
    found = selectors.alert_in_scope(scope, alert_id)
    if found is None:
        raise Http404(_("No such alert."))
    return found


# --- rules and the watchlist (national auditors) -------------------------------------------


def _national_or_404(scope: AuditorScope) -> None:
    if not scope.national:
        raise Http404(_("No such page."))


def _rule_forms(bound: RuleForm | None = None) -> list[dict[str, Any]]:
    settings = {s.code: s for s in RuleSetting.objects.select_related("changed_by")}
    found = []
    for code, rule in RULES.items():
        setting = settings.get(code)
        values = {**rule.defaults(), **((setting.params or {}) if setting else {})}
        form = (
            bound
            if bound is not None and bound.rule.code == code
            else RuleForm(
                initial={"enabled": setting.enabled if setting else True, **values}, rule=rule
            )
        )
        found.append(
            {
                "code": code,
                "rule": rule,
                "title": rule_title(rule),
                "explanation": rule_explanation(rule),
                "severity": label(Severity.choices, rule.severity),
                "family": label(Family.choices, rule.family),
                "setting": setting,
                "form": form,
                "slug": code.replace(".", "-"),
            }
        )
    return found


@require_GET
@auditor_required
def rules(request: HttpRequest, scope: AuditorScope) -> HttpResponse:
    """Every rule with its switch and thresholds, each a form (national auditors only)."""
    _national_or_404(scope)
    return render(
        request, "dashboard/alert_rules.html", _context(request, scope, rules=_rule_forms())
    )


@require_POST
@auditor_required
def rule_update(request: HttpRequest, scope: AuditorScope, code: str) -> HttpResponse:
    """Change a rule's switch and thresholds (detection.rule_changed on the ledger); a value
    out of its range shows the form again with the error, nothing written."""
    _national_or_404(scope)
    rule = RULES.get(code)
    if rule is None:
        raise Http404(_("No such rule."))
    form = RuleForm(request.POST, rule=rule)
    if not form.is_valid():
        return render(
            request,
            "dashboard/alert_rules.html",
            _context(request, scope, rules=_rule_forms(form)),
            status=400,
        )
    try:
        services.rule_change(
            user=request.user, code=code, enabled=form.cleaned_data["enabled"], params=form.params()
        )
    except NotAllowed:
        raise Http404(_("No such page.")) from None
    except DetectionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The rule %(code)s was changed.") % {"code": code})
    return redirect(reverse("dashboard:alert-rules") + f"#rule-{code.replace('.', '-')}")


def _watchlist_page(
    request: HttpRequest, scope: AuditorScope, form: WatchAddForm, status: int = 200
) -> HttpResponse:
    watched = WatchlistEntry.objects.filter(removed_at__isnull=True).order_by("-added_at", "-pk")
    return render(
        request,
        "dashboard/alert_watchlist.html",
        _context(
            request,
            scope,
            form=form,
            watched=[
                {"entry": w, "reason": label(w._meta.get_field("reason").choices, w.reason)}
                for w in watched
            ],
        ),
        status=status,
    )


@require_GET
@auditor_required
def watchlist(request: HttpRequest, scope: AuditorScope) -> HttpResponse:
    """The persons on the watchlist (by subject pseudonym only) and the form to add one
    (national auditors only)."""
    _national_or_404(scope)
    return _watchlist_page(request, scope, WatchAddForm())


@require_POST
@auditor_required
def watchlist_add(request: HttpRequest, scope: AuditorScope) -> HttpResponse:
    """Put the person behind a subject pseudonym on the watchlist (detection.watchlist_added)."""
    _national_or_404(scope)
    form = WatchAddForm(request.POST)
    if form.is_valid():
        try:
            services.watch_add(
                user=request.user,
                subject=form.cleaned_data["subject"],
                reason=form.cleaned_data["reason"],
            )
        except DetectionError as exc:
            form.add_error("subject", str(exc))
        else:
            messages.success(request, _("The person was put on the watchlist."))
            return redirect("dashboard:alert-watchlist")
    return _watchlist_page(request, scope, form, status=400)


@require_POST
@auditor_required
def watchlist_remove(request: HttpRequest, scope: AuditorScope, entry_id: int) -> HttpResponse:
    """Take a person off the watchlist (detection.watchlist_removed)."""
    _national_or_404(scope)
    try:
        services.watch_remove(user=request.user, entry_id=entry_id)
    except NotAllowed:
        raise Http404(_("No such watchlist entry.")) from None
    messages.success(request, _("The person was taken off the watchlist."))
    return redirect("dashboard:alert-watchlist")
