"""Auditor dashboard views (/audit/): thin. The role is obtained by auditor_required and every
read goes through dashboard.selectors with it; every look at a person's records and every
write is a dashboard.services call, which checks the role again and writes the ledger entry.
An entry or enquiry outside the auditor's scope is a 404, so that its existence does not
leak.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from agencies.models import LinkageRequest
from audit.ledger import EntryExpired, LedgerError, receipt_for
from dashboard import alert_display, alert_selectors, charts, nav, selectors, services
from dashboard.access import AuditorScope, NotAllowed, auditor_required
from dashboard.charts import OUTCOME_STYLE, Series
from dashboard.display import event_summary, fact_rows, fields_for
from dashboard.facts import EntryFacts, entry_facts
from dashboard.forms import EnquiryReplyForm, EntrySearchForm, PurposeForm, RevealForm
from dashboard.models import VerificationRun
from dashboard.progress import progress_of
from dashboard.purposes import ViewPurpose, purpose_or_none
from portal.keys import pinned_keys, proof_bundle
from portal.models import EnquiryStatus
from portal.selectors import outcome_label, reference_names
from portal.services import PortalError

# An entry page opened (and recorded) lets its proof and receipt be fetched for this long.
_VIEWED_FOR = 30 * 60
_SESSION_VIEWED = "dashboard_viewed"


class LoginView(auth_views.LoginView):
    """The dashboard's own login (Django's, so axes' lockout applies as on the other logins)."""

    template_name = "dashboard/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return reverse("dashboard:home")


class LogoutView(auth_views.LogoutView):
    next_page = "dashboard:login"


def _context(request: HttpRequest, scope: AuditorScope, **extra: Any) -> dict[str, Any]:
    return {"scope": scope, "nav": nav.entries(scope), **extra}


@auditor_required
def home(request: HttpRequest, scope: AuditorScope) -> HttpResponse:
    """The overview: the log's state, open enquiries, and the way to everything else."""
    status = selectors.integrity_status()
    return render(
        request,
        "dashboard/home.html",
        _context(
            request,
            scope,
            status=status,
            open_enquiries=selectors.open_enquiry_count(scope),
            new_alerts=alert_selectors.new_alert_count(scope),
        ),
    )


def purpose_page(
    request: HttpRequest, scope: AuditorScope, what: str, offered: str = ""
) -> HttpResponse:
    """The form that asks the purpose of a look before a person's records are shown (what:
    what the look is at; offered: the purpose selected to begin with)."""
    return render(
        request,
        "dashboard/purpose.html",
        _context(request, scope, form=PurposeForm(initial={"purpose": offered}), what=what),
    )


# --- entries --------------------------------------------------------------------------------


def _with_target(
    filters: selectors.EntryFilter, target: selectors.SearchTarget
) -> selectors.EntryFilter:
    """The filters narrowed by what the search box named (a subject, a staff member, a case)."""
    if target.kind == "subject":
        return dataclasses.replace(filters, subject=target.value)
    if target.kind == "staff":
        return dataclasses.replace(filters, staff=target.value)
    if target.kind == "case":
        return dataclasses.replace(filters, case=target.value)
    return filters


def _cursor(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _query_without(request: HttpRequest, *keys: str) -> str:
    query = request.GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


@auditor_required
def entries(request: HttpRequest, scope: AuditorScope) -> HttpResponse:
    """Search and filter entries, newest first, 50 a page. A sequence number or request id
    opens the entry; a subject or staff pseudonym lists theirs once a purpose is stated (and
    recorded)."""
    form = EntrySearchForm(request.GET or None, scope=scope)
    page = None
    if form.is_bound and form.is_valid():
        target = selectors.classify_search(form.cleaned_data.get("q", ""))
        purpose = form.cleaned_data.get("purpose", "")
        if target.kind == "seq":
            return redirect(_entry_url(int(target.value), purpose))
        if target.kind == "key":
            hit = selectors.entry_for_key(target.value)
            if hit is not None and hit.seq is not None:
                return redirect(_entry_url(hit.seq, purpose))
            messages.info(
                request,
                _("Recorded, but not numbered in the log yet: try again in a moment.")
                if hit is not None
                else _("No entry has this id."),
            )
        filters = _with_target(form.to_filter(), target)
        if target.kind in ("key", "") and form.cleaned_data.get("q"):
            if target.kind == "":
                messages.info(request, _("Nothing in this text can be searched for."))
        elif (filters.subject or filters.staff) and not purpose:
            form.add_error("purpose", _("State the purpose: this search is recorded in the log."))
        else:
            if filters.subject:
                services.subject_search_record(
                    user=request.user, subject=filters.subject, purpose=purpose
                )
            if filters.staff:
                services.staff_search_record(
                    user=request.user, pseudonym=filters.staff, purpose=purpose
                )
            page = selectors.entries_page(
                selectors.entries_matching(scope, filters),
                before=_cursor(request.GET.get("before")),
                after=_cursor(request.GET.get("after")),
            )
    elif not form.is_bound:
        page = selectors.entries_page(
            selectors.entries_matching(scope, selectors.EntryFilter()),
            before=None,
        )
    names = reference_names()
    return render(
        request,
        "dashboard/entries.html",
        _context(
            request,
            scope,
            form=form,
            page=page,
            rows=_rows(page.rows, names, _purpose_of(form)) if page else [],
            query=_query_without(request, "before", "after"),
            indexed=selectors.indexed_up_to(),
        ),
    )


def _purpose_of(form: EntrySearchForm) -> str:
    return str(getattr(form, "cleaned_data", {}).get("purpose", "") or "")


def _entry_url(seq: int, purpose: str = "") -> str:
    url = reverse("dashboard:entry", args=[seq])
    return f"{url}?{urlencode({'purpose': purpose})}" if purpose else url


def _rows(entries: list[Any], names: Any, purpose: str = "") -> list[dict[str, Any]]:
    """What a table row shows of each indexed entry, prepared here: a list page shows 50 rows,
    and each filter, URL and date a template applies per row costs (measured, bench
    dashboard) more than the whole query."""
    zone = timezone.get_current_timezone()
    entry_url = reverse("dashboard:entry", args=[0])[: -len("0/")]
    suffix = f"/?{urlencode({'purpose': purpose})}" if purpose else "/"
    return [
        {
            "entry": e,
            "href": f"{entry_url}{e.seq}{suffix}",
            "time": timezone.localtime(e.time, zone).strftime("%Y-%m-%d %H:%M:%S"),
            "party": names.institution(e.requester)
            if e.requester
            else names.institution(e.institution)
            if e.institution
            else e.organization or "—",
            "provider": names.institution(e.provider) if e.provider else "—",
            "affair": names.affair(e.affair) if e.affair else "",
            "item": names.item(e.item) if e.item else "—",
            "outcome": outcome_label(e.outcome) if e.outcome else "",
        }
        for e in entries
    ]


CSV_COLUMNS = [
    ("seq", "ログ上の番号 (Log entry)"),
    ("time", "日時 (Time, JST)"),
    ("event_type", "種別 (Event type)"),
    ("requester", "情報照会者 (Requester)"),
    ("requester_name", "情報照会者名 (Requester name)"),
    ("provider", "情報提供者 (Provider)"),
    ("provider_name", "情報提供者名 (Provider name)"),
    ("institution", "機関 (Institution)"),
    ("organization", "団体 (Organisation)"),
    ("affair", "事務 (Affair)"),
    ("affair_name", "事務名 (Affair name)"),
    ("item", "特定個人情報 (Item)"),
    ("item_name", "特定個人情報名 (Item name)"),
    ("outcome", "結果 (Outcome)"),
    ("reason", "理由 (Reason)"),
    ("staff", "職員仮名 (Staff pseudonym)"),
    ("case", "案件 (Case)"),
    ("request_id", "照会番号 (Request id)"),
    ("subject", "本人仮名 (Subject pseudonym)"),
    ("nondisclosure", "不開示 (Not disclosed)"),
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(scope: AuditorScope, rows: Iterator[Any]) -> Iterator[str]:
    names = reference_names()
    columns = [c for c in CSV_COLUMNS if c[0] != "nondisclosure" or scope.sees_nondisclosure]
    writer = csv.writer(_Echo())
    # A byte-order mark, so that Excel in Japan reads the file as UTF-8.
    yield "\ufeff" + writer.writerow([label for _, label in columns])
    zone = timezone.get_current_timezone()
    for entry in rows:
        values = {
            "seq": entry.seq,
            "time": timezone.localtime(entry.time, zone).strftime("%Y-%m-%d %H:%M:%S"),
            "event_type": entry.event_type,
            "requester": entry.requester,
            "requester_name": names.institution(entry.requester) if entry.requester else "",
            "provider": entry.provider,
            "provider_name": names.institution(entry.provider) if entry.provider else "",
            "institution": entry.institution,
            "organization": entry.organization,
            "affair": entry.affair,
            "affair_name": names.affair(entry.affair) if entry.affair else "",
            "item": entry.item,
            "item_name": names.item(entry.item) if entry.item else "",
            "outcome": entry.outcome,
            "reason": entry.reason,
            "staff": entry.staff,
            "case": entry.case,
            "request_id": entry.request_id,
            "subject": entry.subject,
            "nondisclosure": "" if entry.nondisclosure is None else str(entry.nondisclosure),
        }
        yield writer.writerow([values[key] for key, _ in columns])


@auditor_required
def entries_csv(request: HttpRequest, scope: AuditorScope) -> HttpResponseBase:
    """The filtered entries as CSV (UTF-8 with a byte-order mark), streamed: a million rows
    never sit in memory. Recorded in the log (audit.view, view "export")."""
    form = EntrySearchForm(request.GET, scope=scope)
    if not form.is_valid():
        return HttpResponse(
            _("The filters are not valid."), status=400, content_type="text/plain; charset=utf-8"
        )
    filters = _with_target(
        form.to_filter(), selectors.classify_search(form.cleaned_data.get("q", ""))
    )
    try:
        services.export_record(
            user=request.user,
            subject=filters.subject,
            staff=filters.staff,
            purpose=form.cleaned_data.get("purpose", ""),
        )
    except NotAllowed as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    rows = selectors.iter_export(selectors.entries_matching(scope, filters))
    return csv_response(_csv_lines(scope, rows), "entries")


def csv_response(lines: Iterator[str], name: str) -> StreamingHttpResponse:
    """lines streamed as a CSV download named yaritori-<name>-<time>.csv."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="yaritori-{name}-{stamp}.csv"'
    return response


def _remember_viewed(request: HttpRequest, seq: int) -> None:
    viewed = dict(request.session.get(_SESSION_VIEWED, {}))
    now = time.time()
    viewed = {k: v for k, v in viewed.items() if now - v < _VIEWED_FOR}
    viewed[str(seq)] = now
    request.session[_SESSION_VIEWED] = dict(sorted(viewed.items(), key=lambda kv: kv[1])[-50:])


def _was_viewed(request: HttpRequest, seq: int) -> bool:
    seen = request.session.get(_SESSION_VIEWED, {}).get(str(seq))
    return seen is not None and time.time() - seen < _VIEWED_FOR


def _linkage_times(facts: EntryFacts) -> LinkageRequest | None:
    request_id = facts.fields.get("request_id")
    if not isinstance(request_id, str):
        return None
    return (
        LinkageRequest.objects.filter(request_id=request_id)
        .select_related("case__affair")
        .only("requested_at", "answered_at", "case__reference", "case__affair__name")
        .first()
    )


@require_GET
@auditor_required
def entry(request: HttpRequest, scope: AuditorScope, seq: int) -> HttpResponse:
    """One entry: every fact its leaf holds (the 不開示 marker to national auditors only), its
    times, its inclusion proof checked in the browser against the pinned keys, and its
    neighbours in the chain. An entry about a person is shown only once a purpose is stated,
    and the look is recorded first."""
    purpose = request.GET.get("purpose", "")
    try:
        facts = services.entry_view(user=request.user, seq=seq, purpose=purpose)
    except services.PurposeRequired:
        return purpose_page(
            request, scope, _("Log entry #%(seq)s is about a person.") % {"seq": seq}
        )
    except services.EntryGone:
        return render(request, "dashboard/gone.html", _context(request, scope), status=410)
    if facts is None:
        raise Http404(_("No such entry."))
    _remember_viewed(request, seq)
    names = reference_names()
    shown = fields_for(scope, facts.fields)
    affair = names.affairs.get(str(facts.fields.get("affair", "")))
    staff = selectors.staff_names({str(facts.fields.get("staff", ""))})
    member = staff.get(str(facts.fields.get("staff", "")))
    return render(
        request,
        "dashboard/entry.html",
        _context(
            request,
            scope,
            facts=facts,
            summary=event_summary(facts.record.event_type),
            rows=fact_rows(scope, facts.fields, names),
            affair_obj=affair,
            department=member.department.name if member else "",
            linkage=_linkage_times(facts),
            chain=selectors.chain_view(facts),
            enquiries=selectors.enquiries_about(scope, facts),
            keys=pinned_keys(),
            fields_json=json.dumps(shown),
            purpose=purpose_or_none(purpose) or "",
            purpose_label=ViewPurpose(purpose).label if purpose_or_none(purpose) else "",
            quorum=1,
        ),
    )


@auditor_required
def entry_proof(request: HttpRequest, scope: AuditorScope, seq: int) -> HttpResponse:
    """The proof bundle the entry page checks in the browser (portal.keys.proof_bundle): the
    leaf, its inclusion proof and the cosigned checkpoint. For an entry about a person, only
    after its page was opened (and the look recorded) in this session."""
    facts = selectors_entry_or_404(scope, seq)
    if facts.subject and not _was_viewed(request, seq):
        return HttpResponseForbidden(_("Open the entry's page first."))
    return JsonResponse(proof_bundle([(facts.intake_id, facts.seq, facts.leaf)]))


@auditor_required
def entry_receipt(request: HttpRequest, scope: AuditorScope, seq: int) -> HttpResponse:
    """The entry's receipt (C2SP tlog-proof) to check offline, under the same rule as its
    proof."""
    facts = selectors_entry_or_404(scope, seq)
    if facts.subject and not _was_viewed(request, seq):
        return HttpResponseForbidden(_("Open the entry's page first."))
    try:
        receipt = receipt_for(seq)
    except (EntryExpired, LedgerError):
        raise Http404(_("This entry is not in a signed tree yet.")) from None
    response = HttpResponse(receipt, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="yaritori-entry-{seq}.tlog-proof"'
    return response


def selectors_entry_or_404(scope: AuditorScope, seq: int) -> EntryFacts:
    facts = entry_facts(seq)
    if facts is None or not scope.sees(facts):
        raise Http404(_("No such entry."))
    return facts


# --- enquiries ------------------------------------------------------------------------------


@auditor_required
def enquiries(request: HttpRequest, scope: AuditorScope) -> HttpResponse:
    """The queue of residents' enquiries: by status (open by default) and age, oldest first."""
    status = request.GET.get("status", EnquiryStatus.OPEN)
    if status not in EnquiryStatus.values and status != "":
        status = EnquiryStatus.OPEN
    age = _cursor(request.GET.get("age")) or 0
    if age not in selectors.AGE_CHOICES:
        age = 0
    return render(
        request,
        "dashboard/enquiries.html",
        _context(
            request,
            scope,
            queue=selectors.enquiry_queue(scope, status=status, min_age_days=age),
            status=status,
            statuses=EnquiryStatus.choices,
            age=age,
            ages=selectors.AGE_CHOICES,
        ),
    )


@auditor_required
def enquiry(request: HttpRequest, scope: AuditorScope, public_id: str) -> HttpResponse:
    """One enquiry with its record (the look is recorded); answer or close it."""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "close":
                services.enquiry_close(user=request.user, enquiry_id=public_id)
                messages.success(request, _("The enquiry is closed."))
                return redirect("dashboard:enquiries")
            form = EnquiryReplyForm(request.POST)
            if form.is_valid():
                services.enquiry_reply(
                    user=request.user, enquiry_id=public_id, answer=form.cleaned_data["answer"]
                )
                messages.success(request, _("The answer was sent. The resident sees it now."))
                return redirect("dashboard:enquiries")
            messages.error(request, _("Write the answer, up to 4000 characters."))
        except NotAllowed:
            raise Http404(_("No such enquiry.")) from None
        except PortalError as exc:
            messages.error(request, str(exc))
        return redirect("dashboard:enquiry", public_id=public_id)
    try:
        found = services.enquiry_view(user=request.user, enquiry_id=public_id)
    except (NotAllowed, ValueError):
        raise Http404(_("No such enquiry.")) from None
    names = reference_names()
    return render(
        request,
        "dashboard/enquiry.html",
        _context(
            request,
            scope,
            enquiry=found.enquiry,
            facts=found.facts,
            rows=fact_rows(scope, found.facts.fields, names),
            form=EnquiryReplyForm(),
            age_days=(timezone.now() - found.enquiry.created_at).days,
        ),
    )


# --- integrity ------------------------------------------------------------------------------


@auditor_required
def integrity(request: HttpRequest, scope: AuditorScope) -> HttpResponse:
    """The integrity panel: checkpoint, witnesses, verification runs, integration delay."""
    status = selectors.integrity_status()
    active = status.last_run if status.last_run is not None and status.last_run.active else None
    return render(
        request,
        "dashboard/integrity.html",
        _context(
            request,
            scope,
            status=status,
            active=active,
            progress=progress_of(active.pk) if active else None,
        ),
    )


@require_POST
@auditor_required
def integrity_verify(request: HttpRequest, scope: AuditorScope) -> HttpResponse:
    """Start a full verification (a Celery task) and return to the panel, which shows its
    progress."""
    try:
        services.verification_request(user=request.user)
    except NotAllowed as exc:
        messages.error(request, str(exc))
    return redirect("dashboard:integrity")


@auditor_required
def run_progress(request: HttpRequest, scope: AuditorScope, run_id: int) -> JsonResponse:
    """A verification run's state and progress, for the panel's progress bar."""
    run = VerificationRun.objects.filter(pk=run_id).first()
    if run is None:
        raise Http404(_("No such verification run."))
    done, total = progress_of(run.pk) or (0, 0)
    return JsonResponse(
        {
            "status": run.status,
            "done": done,
            "total": total,
            "percent": round(100 * done / total, 1) if total else 0.0,
            "active": run.active,
        }
    )


# --- charts ---------------------------------------------------------------------------------


@auditor_required
def charts_page(request: HttpRequest, scope: AuditorScope) -> HttpResponse:
    """Requests per day by outcome, top affairs and items, organisations by request volume
    (over the auditor's own scope); SVG drawn here, each with a table of its numbers."""
    days = 30
    names = reference_names()
    per_day = selectors.requests_per_day(scope, days=days)
    series = [
        Series(outcome, outcome_label(outcome), *OUTCOME_STYLE[outcome])
        for outcome in selectors.OUTCOMES
    ]
    daily = charts.stacked_bars(
        chart_id="daily",
        title=_("Requests per day by outcome, last %(days)s days") % {"days": days},
        description=_(
            "Stacked bars, one per day; each outcome has its own pattern and is named in the "
            "legend; the number above a bar is the day's total. The table below holds the "
            "same numbers."
        ),
        categories=[(day.strftime("%m/%d"), counts) for day, counts in per_day],
        series=series,
    )
    affairs = selectors.top_counts(scope, "affair", days=days)
    items = selectors.top_counts(scope, "item", days=days)
    orgs = selectors.organizations_by_volume(scope, days=days)
    org_names = selectors.organization_names([c for c, _ in orgs])
    return render(
        request,
        "dashboard/charts.html",
        _context(
            request,
            scope,
            days=days,
            daily=daily,
            per_day=per_day,
            series=series,
            affairs=charts.horizontal_bars(
                chart_id="affairs",
                title=_("Top affairs by requests"),
                description=_("Horizontal bars, largest first, each labelled with its count."),
                rows=[(names.affair(code), code, n) for code, n in affairs],
            ),
            items=charts.horizontal_bars(
                chart_id="items",
                title=_("Top information items by requests"),
                description=_("Horizontal bars, largest first, each labelled with its count."),
                rows=[(names.item(code), code, n) for code, n in items],
            ),
            organizations=charts.horizontal_bars(
                chart_id="orgs",
                title=_("Requesting organisations by volume"),
                description=_("Horizontal bars, largest first, each labelled with its count."),
                rows=[(org_names.get(code, code), code, n) for code, n in orgs],
            ),
            alerts=alert_display.alert_charts(scope, days=days),
        ),
    )


# --- staff drill-down -----------------------------------------------------------------------


@auditor_required
def staff(request: HttpRequest, scope: AuditorScope, pseudonym: str) -> HttpResponse:
    """A staff pseudonym's requests over time against their peers; the look is recorded. A
    privacy officer of the member's organisation may reveal who it is (with a reason)."""
    purpose = request.GET.get("purpose", "")
    try:
        member = services.staff_view(user=request.user, pseudonym=pseudonym, purpose=purpose)
    except services.PurposeRequired:
        return purpose_page(
            request,
            scope,
            _("The activity of staff member %(pseudonym)s.") % {"pseudonym": pseudonym},
        )
    if member is None and not scope.national:
        raise Http404(_("No such staff member."))
    activity = selectors.staff_activity(scope, pseudonym, member)
    names = reference_names()
    days = [d.strftime("%m/%d") for d in activity.days]
    chart = charts.line_chart(
        chart_id="staff",
        title=_("Requests per day: %(pseudonym)s and the mean of their peers")
        % {"pseudonym": pseudonym},
        description=_(
            "A solid line with round markers for this staff member; a dashed line with square "
            "markers for the mean of the other staff of the same department. The table below "
            "holds the same numbers."
        ),
        categories=days,
        lines=[
            (str(_("This staff member")), activity.own, False, "circle"),
            (str(_("Peers' mean")), activity.peer_mean, True, "square"),
        ],
    )
    reveal = None
    can_reveal = member is not None and member.institution.organization.code in scope.organizations
    if can_reveal and member is not None and "reveal" in request.GET:
        reveal = selectors.reveal_shown(
            scope, request.GET.get("reveal"), member, within=services.REVEAL_SHOWN_FOR
        )
    return render(
        request,
        "dashboard/staff.html",
        _context(
            request,
            scope,
            pseudonym=pseudonym,
            member=member,
            activity=activity,
            chart=chart,
            table=list(zip(days, activity.own, activity.peer_mean, strict=True)),
            by_affair=[
                (code, names.affair(code), own, mean, peers)
                for code, own, mean, peers in activity.by_affair
            ],
            outcomes=[(outcome_label(o), n) for o, n in sorted(activity.outcomes.items())],
            recent=_rows(activity.recent, names, purpose_or_none(purpose) or ""),
            alerts=alert_display.alert_rows(
                alert_selectors.staff_alerts(scope, pseudonym), purpose_or_none(purpose) or ""
            ),
            can_reveal=can_reveal,
            reveal=reveal,
            reveal_form=RevealForm(),
            purpose=purpose_or_none(purpose) or "",
        ),
    )


@require_POST
@auditor_required
def staff_reveal(request: HttpRequest, scope: AuditorScope, pseudonym: str) -> HttpResponse:
    """Reveal who a staff pseudonym is (privacy officers of its organisation only)."""
    form = RevealForm(request.POST)
    purpose = purpose_or_none(request.POST.get("purpose")) or ViewPurpose.ROUTINE
    base = reverse("dashboard:staff", args=[pseudonym])
    if not form.is_valid():
        messages.error(request, _("Choose a reason and explain it."))
        return redirect(f"{base}?{urlencode({'purpose': purpose})}")
    try:
        reveal = services.identity_reveal(
            user=request.user,
            pseudonym=pseudonym,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        )
    except NotAllowed as exc:
        return HttpResponseForbidden(str(exc))
    return redirect(f"{base}?{urlencode({'purpose': purpose, 'reveal': reveal.pk})}")
