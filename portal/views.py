"""Resident portal views: thin. Every read goes through portal.selectors with the viewer's
subject; every write is a portal.services call. A record that is not the viewer's subject's,
or is 不開示, is a 404 on every route, so its existence does not leak.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit.ledger import EntryExpired, LedgerError, receipt_for
from portal import selectors, services
from portal.auth import (
    SESSION_ACTING,
    Viewer,
    portal_login,
    portal_logout,
    resident_required,
    viewer_of,
)
from portal.forms import (
    AcceptProxyForm,
    CardLoginForm,
    EnquiryForm,
    MailForm,
    MailPreferenceForm,
    NameProxyForm,
    RecordFilterForm,
)
from portal.keys import pinned_keys, proof_bundle
from portal.notices import mail_confirm, mail_preferences_set, mail_register
from portal.presenters import Row
from portal.selectors import RecordFilter
from portal.throttle import login_attempt_allowed

PAGE_SIZE = 50


def home(request: HttpRequest) -> HttpResponse:
    """The landing page: what Yaritori is and the way in for each kind of user."""
    return render(request, "portal/home.html", {"viewer": viewer_of(request)})


def _client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def login(request: HttpRequest) -> HttpResponse:
    """Log in with a card serial and its PIN (no My Number is asked for)."""
    form = CardLoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        serial = form.cleaned_data["serial"]
        if not login_attempt_allowed(serial=serial, address=_client_address(request)):
            return render(request, "portal/throttled.html", status=429)
        try:
            card = services.card_login_check(serial=serial, pin=form.cleaned_data["pin"])
        except services.LoginRefused as refused:
            status = 403 if refused.reason == "locked" else 400
            form.add_error(
                None,
                _(
                    "This card is locked after three wrong PINs. A counter clerk at your "
                    "municipality can reset the PIN."
                )
                if refused.reason == "locked"
                else _(
                    "The card number or the PIN is wrong. Three wrong PINs in a row lock the card."
                ),
            )
        else:
            portal_login(request, card)
            target = request.GET.get("next", "")
            if not url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                target = reverse("portal:records")
            return redirect(target)
    elif request.method == "POST":
        status = 400
    return render(request, "portal/login.html", {"form": form}, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """End the portal session."""
    portal_logout(request)
    return redirect("portal:home")


def _filters(request: HttpRequest) -> RecordFilter:
    tab = request.GET.get("tab", "exchange")
    probe = RecordFilterForm(request.GET, institutions=[], affairs=[], items=[])
    probe.is_valid()  # choices come later; the dates are what matter here
    return RecordFilter(
        tab=tab if tab in selectors.TABS else "exchange",
        date_from=probe.cleaned_data.get("date_from"),
        date_to=probe.cleaned_data.get("date_to"),
        institution=request.GET.get("institution", "")[:16],
        affair=request.GET.get("affair", "")[:16],
        item=request.GET.get("item", "")[:16],
    )


def _log_proxy_view(viewer: Viewer, view: str, intake_id: int | None = None) -> None:
    if viewer.mandate is not None:
        services.proxy_view_record(mandate=viewer.mandate, view=view, intake_id=intake_id)


def _row_context(row: Row, names: selectors.ReferenceNames) -> dict[str, Any]:
    return {
        "row": row,
        "requester": names.institution(row.requester) if row.requester else "",
        "provider": names.institution(row.provider) if row.provider else "",
        "affair": names.affair(row.affair) if row.affair else "",
        "from_affair": names.affair(row.from_affair) if row.from_affair else "",
        "item": names.item(row.item) if row.item else "",
        "outcome": selectors.outcome_label(row.outcome) if row.outcome else "",
    }


@resident_required
def records(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """やりとり履歴: the subject's disclosed records, filtered, newest first, 50 a page."""
    filters = _filters(request)
    found = selectors.records_of(subject=viewer.subject, filters=filters)
    form = RecordFilterForm(
        request.GET or None,
        institutions=found.institutions,
        affairs=found.affairs,
        items=found.items,
    )
    page = Paginator(found.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    selectors.rows_enrich(page.object_list)
    names = selectors.reference_names()
    _log_proxy_view(viewer, "list")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/records.html",
        {
            "viewer": viewer,
            "form": form,
            "filters": filters,
            "page": page,
            "rows": [_row_context(r, names) for r in page.object_list],
            "counts": found.counts,
            "total": len(found.rows),
            "query": query.urlencode(),
            "tab_query": _without(request, "tab", "page"),
        },
    )


def _without(request: HttpRequest, *keys: str) -> str:
    query = request.GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


@resident_required
def records_print(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """The filtered list on one print-friendly page (no navigation, every row)."""
    filters = _filters(request)
    found = selectors.records_of(subject=viewer.subject, filters=filters)
    selectors.rows_enrich(found.rows)
    names = selectors.reference_names()
    _log_proxy_view(viewer, "print")
    return render(
        request,
        "portal/records_print.html",
        {
            "viewer": viewer,
            "filters": filters,
            "rows": [_row_context(r, names) for r in found.rows],
            "printed_at": timezone.now(),
        },
    )


CSV_COLUMNS = [
    ("request_time", "照会日時 (Requested at)"),
    ("provision_time", "提供日時 (Provided at)"),
    ("kind", "種別 (Kind)"),
    ("requester", "情報照会者 (Requester)"),
    ("provider", "情報提供者 (Provider)"),
    ("affair", "事務 (Affair)"),
    ("item", "特定個人情報 (Item)"),
    ("outcome", "結果 (Outcome)"),
    ("department", "担当部署 (Department)"),
    ("case", "案件の目的 (Case purpose)"),
    ("seq", "ログ上の番号 (Log entry)"),
]


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


@resident_required
def records_csv(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """The filtered list as CSV, UTF-8 with a byte-order mark (Excel in Japan reads it)."""
    filters = _filters(request)
    found = selectors.records_of(subject=viewer.subject, filters=filters)
    selectors.rows_enrich(found.rows)
    names = selectors.reference_names()
    _log_proxy_view(viewer, "csv")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="yaritori-records.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([label for _, label in CSV_COLUMNS])
    for row in found.rows:
        c = _row_context(row, names)
        writer.writerow(
            [
                _local(row.request_time or row.time),
                _local(row.provision_time),
                str(row.presenter.label),
                c["requester"],
                c["provider"],
                c["affair"],
                c["item"],
                c["outcome"],
                row.department,
                f"{row.case_purpose} {row.case_reference}".strip(),
                "" if row.seq is None else row.seq,
            ]
        )
    return response


def _record_or_404(viewer: Viewer, intake_id: int) -> Row:
    row = selectors.record_of(subject=viewer.subject, intake_id=intake_id)
    if row is None:
        raise Http404(_("No such record."))
    return row


@resident_required
def record(request: HttpRequest, viewer: Viewer, intake_id: int) -> HttpResponse:
    """One record: its facts, its purpose, its place in the log, the in-browser check."""
    row = _record_or_404(viewer, intake_id)
    names = selectors.reference_names()
    affair = names.affairs.get(row.affair)
    _log_proxy_view(viewer, "record", intake_id)
    return render(
        request,
        "portal/record.html",
        {
            "viewer": viewer,
            **_row_context(row, names),
            "affair_obj": affair,
            "keys": pinned_keys(),
            "enquiries": selectors.enquiries_about(person=viewer.subject, intake_id=intake_id),
            "enquiry_form": EnquiryForm(),
            "leaf_fields": [(k, json.dumps(v)) for k, v in sorted(row.fields.items())],
            "fields_json": json.dumps(row.fields),
            "quorum": max(1, settings.PORTAL_WITNESS_QUORUM),
        },
    )


@resident_required
def record_proof(request: HttpRequest, viewer: Viewer, intake_id: int) -> JsonResponse:
    """The proof bundle the record page checks: each entry's leaf and inclusion proof, and
    the signed, cosigned checkpoint they lead to."""
    row = _record_or_404(viewer, intake_id)
    found = selectors.intake_ids_with_seq([row.intake_id, *row.related])
    entries = [(pk, *found[pk]) for pk in [row.intake_id, *row.related]]
    return JsonResponse(proof_bundle(entries))


@resident_required
def record_receipt(request: HttpRequest, viewer: Viewer, intake_id: int) -> HttpResponse:
    """The record's receipt (C2SP tlog-proof) to keep and check offline (docs/verify.md)."""
    row = _record_or_404(viewer, intake_id)
    if row.seq is None:
        raise Http404(_("This record is not in a signed tree yet; try again in a moment."))
    try:
        receipt = receipt_for(row.seq)
    except (EntryExpired, LedgerError):
        raise Http404(
            _("This record is not in a signed tree yet; try again in a moment.")
        ) from None
    _log_proxy_view(viewer, "receipt", intake_id)
    response = HttpResponse(receipt, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="yaritori-entry-{row.seq}.tlog-proof"'
    return response


@require_POST
@resident_required
def record_enquiry(request: HttpRequest, viewer: Viewer, intake_id: int) -> HttpResponse:
    """この記録について問い合わせる: open an enquiry about the record for the auditors."""
    row = _record_or_404(viewer, intake_id)
    form = EnquiryForm(request.POST)
    if form.is_valid():
        try:
            services.enquiry_open(
                person=viewer.subject,
                intake_id=row.intake_id,
                question=form.cleaned_data["question"],
                proxy=viewer.person if viewer.as_proxy else None,
            )
        except services.PortalError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Your enquiry was received. Its answer will appear here."))
    else:
        messages.error(request, _("Write your question, up to 2000 characters."))
    return redirect("portal:record", intake_id=row.intake_id)


@resident_required
def enquiries(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """The subject's enquiries with their status and answers."""
    return render(
        request,
        "portal/enquiries.html",
        {"viewer": viewer, "enquiries": selectors.enquiries_of(viewer.subject)},
    )


def keys(request: HttpRequest) -> HttpResponse:
    """The keys the portal pins, one verifier key text a line (documented in docs/verify.md):
    the log's first, then each witness's."""
    lines = [f"# {k.role} {k.name} fingerprint {k.fingerprint}\n{k.text}\n" for k in pinned_keys()]
    return HttpResponse("".join(lines), content_type="text/plain; charset=utf-8")


@require_POST
@resident_required
def act_as(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """Switch between one's own records and a principal's (as proxy, active mandates only)."""
    target = request.POST.get("mandate", "")
    if target and target != "self":
        mandates = {str(m.public_id) for m in selectors.mandates_as_proxy(viewer.person)}
        if target in mandates:
            request.session[SESSION_ACTING] = target
    else:
        request.session.pop(SESSION_ACTING, None)
    return redirect("portal:records")


@resident_required
def proxies(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """代理人: name a proxy (and see the one-time code once), accept as proxy, end a mandate,
    and switch to a principal's records."""
    person = viewer.person
    name_form = NameProxyForm(request.POST if request.POST.get("action") == "name" else None)
    accept_form = AcceptProxyForm(request.POST if request.POST.get("action") == "accept" else None)
    code = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "name" and name_form.is_valid():
                named = services.proxy_name(
                    principal=person, proxy_card_serial=name_form.cleaned_data["card"]
                )
                code = named.code
                name_form = NameProxyForm()
            elif action == "accept" and accept_form.is_valid():
                services.proxy_accept(proxy=person, code=accept_form.cleaned_data["code"])
                messages.success(
                    request, _("You are now a proxy. Choose whose records to view above.")
                )
                return redirect("portal:proxies")
            elif action == "end":
                services.proxy_end(person=person, mandate_id=request.POST.get("mandate", ""))
                request.session.pop(SESSION_ACTING, None)
                messages.success(request, _("The proxy mandate has ended."))
                return redirect("portal:proxies")
        except (services.PortalError, ValueError, ValidationError) as exc:
            messages.error(
                request,
                str(exc) if isinstance(exc, services.PortalError) else _("No such proxy mandate."),
            )
    return render(
        request,
        "portal/proxies.html",
        {
            "viewer": viewer,
            "as_principal": selectors.mandates_as_principal(person),
            "as_proxy": selectors.mandates_as_proxy(person),
            "name_form": name_form,
            "accept_form": accept_form,
            "code": code,
            "protected": person.disclosure_protected,
            "notices": selectors.notices_of(person),
        },
    )


@resident_required
def mail(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """お知らせ: register an e-mail address (confirmed by a link) and opt in to new-record mails."""
    person = viewer.person
    subscription = selectors.mail_subscription_of(person)
    form = MailForm(request.POST if request.POST.get("action") == "register" else None)
    if request.method == "POST":
        if request.POST.get("action") == "register" and form.is_valid():
            mail_register(person=person, email=form.cleaned_data["email"])
            messages.success(request, _("We sent a link to that address. Open it to confirm."))
            return redirect("portal:mail")
        if request.POST.get("action") == "preferences":
            preferences = MailPreferenceForm(request.POST)
            preferences.is_valid()
            mail_preferences_set(
                person=person, new_records=bool(preferences.cleaned_data.get("new_records"))
            )
            messages.success(request, _("Your notice settings were saved."))
            return redirect("portal:mail")
    return render(
        request,
        "portal/mail.html",
        {
            "viewer": viewer,
            "subscription": subscription,
            "form": form,
            "preferences": MailPreferenceForm(
                initial={"new_records": subscription.new_records if subscription else False}
            ),
            "notices": selectors.notices_of(person),
        },
    )


def mail_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the confirmation mail."""
    confirmed = mail_confirm(token=token)
    return render(
        request,
        "portal/mail_confirmed.html",
        {"confirmed": confirmed},
        status=200 if confirmed else 400,
    )
