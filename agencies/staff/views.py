"""Staff pages (職員画面): server-rendered, Japanese by default, English on request.

Views are thin: every read goes through a selector that filters by the staff member's
department or institution, and every write is a service call (which writes the ledger entry).
A logged-in user who is not staff gets 403; another department's case or request is 404, so
that its existence does not leak.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from agencies import selectors
from agencies.batches import (
    BatchError,
    batch_of_staff,
    batch_open,
    batch_progress,
    batches_of_staff,
    batches_progress,
    requests_of_batch,
)
from agencies.held import held_queue, held_row, nondisclosure_shown_to
from agencies.lookups import LookupNotAllowed, Subject, subject_lookup, subject_of_request
from agencies.models import Batch, Case, LinkageRequest, LinkageStatus, StaffMember
from agencies.network.outcomes import LinkageOutcome
from agencies.network.reasons import NotAllowed
from agencies.network.rules import Route, ordinance_routes, permitted_routes
from agencies.network.services import (
    DECIDING_ROLES,
    held_request_decide,
    internal_transfer_send,
    linkage_request_send,
)
from agencies.services import CaseError, case_close, case_open, household_lookup
from agencies.staff.confirm import QueryConfirmation, confirmation_read, confirmation_sign
from agencies.staff.forms import (
    BatchForm,
    CaseApplicantForm,
    CaseMembersForm,
    LinkageRequestForm,
    NondisclosureReleaseForm,
    route_source,
)
from agencies.tasks import batch_send_enqueue
from agencies.templatetags.bilingual import message_in_language, pick_language

P = ParamSpec("P")
StaffView = Callable[Concatenate[HttpRequest, StaffMember, P], HttpResponse]


def staff_required(view: StaffView[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Log in first; then only users who are staff members get in, and the view receives
    their StaffMember."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        staff = selectors.staff_for_user(request.user)
        if staff is None:
            return render(request, "agencies/staff/not_staff.html", status=403)
        return view(request, staff, *args, **kwargs)

    return wrapped


def _terminal(request: HttpRequest) -> str:
    """The operator's terminal as the ledger records it: one id per login session, derived
    from the session key so that the key itself is never written anywhere."""
    key = request.session.session_key or ""
    return "WEB-" + hashlib.sha256(key.encode()).hexdigest()[:12].upper()


@staff_required
def home(request: HttpRequest, staff: StaffMember) -> HttpResponse:
    """My cases (open ones, or all with ?all=1), my latest requests and the held queue size."""
    show_all = request.GET.get("all") == "1"
    return render(
        request,
        "agencies/staff/home.html",
        {
            "staff": staff,
            "cases": selectors.cases_of_staff(staff=staff, open_only=not show_all)[:200],
            "show_all": show_all,
            "recent": selectors.requests_of_staff(staff=staff, limit=10),
            "held_count": selectors.held_requests_for(staff=staff).count(),
        },
    )


@staff_required
def case_new(request: HttpRequest, staff: StaffMember) -> HttpResponse:
    """Open a case in two steps: the affair and the applicant, then the members of their
    household (shown, and recorded as looked at, only once the affair is stated)."""
    if request.method != "POST":
        form = CaseApplicantForm(staff=staff)
        return render(request, "agencies/staff/case_new.html", {"staff": staff, "form": form})
    applicant_form = CaseApplicantForm(request.POST, staff=staff)
    applicant = None
    if applicant_form.is_valid():
        applicant = selectors.person_by_addressee_number(
            organization_id=staff.institution.organization_id,
            number=applicant_form.cleaned_data["applicant"],
        )
        if applicant is None:
            applicant_form.add_error(
                "applicant", _("No resident of your organisation has this addressee number.")
            )
    if applicant is None:
        return render(
            request,
            "agencies/staff/case_new.html",
            {"staff": staff, "form": applicant_form},
            status=400,
        )
    try:
        # Who lives with the applicant is shown only for an affair the clerk handles, and
        # every person shown is recorded as looked at: the residents see who looked.
        household = household_lookup(
            staff=staff, affair=applicant_form.cleaned_data["affair"], applicant=applicant
        )
    except CaseError as exc:
        applicant_form.add_error("affair", pick_language(str(exc)))
        return render(
            request,
            "agencies/staff/case_new.html",
            {"staff": staff, "form": applicant_form},
            status=400,
        )
    form = CaseMembersForm(
        request.POST if "members_step" in request.POST else None,
        initial=applicant_form.cleaned_data,
        staff=staff,
        household=household,
    )
    if form.is_bound and form.is_valid():
        chosen = set(form.cleaned_data["members"])
        try:
            case = case_open(
                staff=staff,
                affair=form.cleaned_data["affair"],
                reference=form.cleaned_data["reference"],
                applicant=applicant,
                members=[(p, p.relationship or "世帯員") for p in household if p.pk in chosen],
            )
        except CaseError as exc:
            form.add_error(None, pick_language(str(exc)))
        else:
            messages.success(request, _("Case %(ref)s opened.") % {"ref": case.reference})
            return redirect("staff:case-detail", case_id=case.pk)
    return render(
        request,
        "agencies/staff/case_members.html",
        {"staff": staff, "form": form, "applicant": applicant, "household": household},
        status=400 if form.is_bound else 200,
    )


def _case_or_404(staff: StaffMember, case_id: int) -> Case:
    case = selectors.case_of_staff(staff=staff, case_id=case_id)
    if case is None:
        raise Http404(_("No such case in your department."))
    return case


@staff_required
def case_detail(request: HttpRequest, staff: StaffMember, case_id: int) -> HttpResponse:
    """A case: its members, the queries made under it, and the way to query or close it."""
    case = _case_or_404(staff, case_id)
    requests = selectors.requests_under_case(case=case)
    return render(
        request,
        "agencies/staff/case_detail.html",
        {
            "staff": staff,
            "case": case,
            "members": selectors.case_members_of(
                case=case, organization_id=staff.institution.organization_id
            ),
            "requests": requests,
            "is_open": case.closed_at is None,
        },
    )


@require_POST
@staff_required
def case_close_view(request: HttpRequest, staff: StaffMember, case_id: int) -> HttpResponse:
    """Close a case of one's own department."""
    case = _case_or_404(staff, case_id)
    try:
        case_close(staff=staff, case=case)
    except CaseError as exc:
        messages.error(request, pick_language(str(exc)))
    else:
        messages.success(request, _("Case %(ref)s closed.") % {"ref": case.reference})
    return redirect("staff:case-detail", case_id=case.pk)


def _staff_routes(staff: StaffMember) -> list[Route]:
    """The queries the law allows the staff member today: the permitted table's routes over
    the network, then the ordinance's 庁内連携 routes, for the affairs assigned to them."""
    affairs = list(staff.assigned_affairs.all())
    day = timezone.localdate()
    return [
        *permitted_routes(requester=staff.institution, affairs=affairs, day=day),
        *ordinance_routes(institution=staff.institution, affairs=affairs, day=day),
    ]


def _query_form_context(
    request: HttpRequest, staff: StaffMember
) -> tuple[list[Route], QuerySet[Case], Case | None, list[tuple[str, str]]]:
    """What the query form offers the staff member: the permitted routes of their affairs
    today and their department's open cases; from a case page, that case, its routes and its
    members (by 宛名番号)."""
    source = request.POST if request.method == "POST" else request.GET
    routes = _staff_routes(staff)
    cases = selectors.cases_of_staff(staff=staff, open_only=True)
    fixed_case: Case | None = None
    members: list[tuple[str, str]] = []
    if source.get("case", "").isdigit():
        fixed_case = cases.filter(pk=int(source["case"])).first()
        if fixed_case is None:
            raise Http404(_("No such open case in your department."))
        cases = cases.filter(pk=fixed_case.pk)
        routes = [r for r in routes if r.affair.pk == fixed_case.affair_id]
        members = [
            (number, f"{person.full_name}（{role}）")
            for person, role, number in selectors.case_members_of(
                case=fixed_case, organization_id=staff.institution.organization_id
            )
            if number
        ]
    return routes, cases, fixed_case, members


@sensitive_post_parameters("my_number")
@staff_required
@sensitive_variables("data", "form")  # they hold the My Number typed
def request_new(request: HttpRequest, staff: StaffMember) -> HttpResponse:
    """The 情報照会 form: only the staff member's affairs and the items and providers the
    permitted table allows for them today; from a case page, that case and its members.

    Nothing is sent from here: a valid form shows who will be queried (request_confirm's
    page), and only that page's signed confirmation sends (request_send)."""
    routes, cases, fixed_case, members = _query_form_context(request, staff)
    initial = {"case": fixed_case, "member": request.GET.get("member", "")}
    form = LinkageRequestForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        routes=routes,
        cases=cases,
        members=members,
    )
    if form.is_bound and form.is_valid():
        data, route = form.cleaned_data, form.cleaned_data["route_obj"]
        try:
            subject = subject_lookup(
                staff=staff,
                affair=route.affair,
                case=data["case"],
                addressee_number=data["member"] or data["addressee_number"] or None,
                my_number=data["my_number"] or None,
            )
        except LookupNotAllowed as exc:
            form.add_error(None, str(exc))
        else:
            if subject is None:
                field = "my_number" if data["my_number"] else "addressee_number"
                if data["member"]:
                    field = "member"
                form.add_error(field, _("No resident of your organisation has this number."))
            elif not subject.may_be_queried:
                form.add_error(
                    None,
                    _(
                        "The person with this number is not one this case concerns: a query "
                        "under the case cannot be about them. Check the number against the "
                        "application."
                    ),
                )
            else:
                return _confirmation_page(request, staff, form, route, subject)
    return render(
        request,
        "agencies/staff/request_new.html",
        {"staff": staff, "form": form, "case": fixed_case, "has_routes": bool(routes)},
        status=400 if form.is_bound else 200,
    )


def _confirmation_page(
    request: HttpRequest,
    staff: StaffMember,
    form: LinkageRequestForm,
    route: Route,
    subject: Subject,
) -> HttpResponse:
    data = form.cleaned_data
    token = confirmation_sign(
        QueryConfirmation(
            request_id=data["request_id"],
            route=route.key,
            case_id=data["case"].pk if data["case"] is not None else None,
            person_id=subject.person.pk,
        ),
        staff=staff,
        terminal=_terminal(request),
    )
    return render(
        request,
        "agencies/staff/request_confirm.html",
        {
            "staff": staff,
            "route": route,
            "source": route_source(route),
            "case": data["case"],
            "subject": subject,
            "confirmation": token,
        },
    )


@require_POST
@staff_required
def request_send(request: HttpRequest, staff: StaffMember) -> HttpResponse:
    """Send the query the clerk confirmed: only with the confirmation page's token, of this
    staff member and session, within its time (agencies.staff.confirm). Anything else sends
    nothing and records nothing."""
    confirmation = confirmation_read(
        request.POST.get("confirmation", ""), staff=staff, terminal=_terminal(request)
    )
    routes = {r.key: r for r in _staff_routes(staff)}
    route = routes.get(confirmation.route) if confirmation is not None else None
    if confirmation is None or route is None:
        messages.error(
            request,
            _(
                "The confirmation is missing, has expired, or no longer applies. Nothing was "
                "sent: enter the query again and check the person shown."
            ),
        )
        return redirect("staff:request-new")
    case = (
        selectors.case_of_staff(staff=staff, case_id=confirmation.case_id)
        if confirmation.case_id is not None
        else None
    )
    person = selectors.person_by_id(person_id=confirmation.person_id)
    if (confirmation.case_id is not None and case is None) or person is None:
        raise Http404(_("No such request for you."))
    if route.internal:
        outcome = internal_transfer_send(
            staff=staff,
            request_id=confirmation.request_id,
            affair=route.affair,
            from_affair=route.from_affair,
            item=route.item,
            case=case,
            subject=person,
            terminal=_terminal(request),
        )
    else:
        outcome = linkage_request_send(
            staff=staff,
            request_id=confirmation.request_id,
            affair=route.affair,
            item=route.item,
            provider=route.provider,
            case=case,
            subject=person,
            terminal=_terminal(request),
        )
    if outcome.conflict:
        messages.error(request, message_in_language(outcome.message))
        return redirect("staff:request-new")
    return redirect("staff:request-detail", request_id=outcome.request.request_id)


@staff_required
def request_detail(request: HttpRequest, staff: StaffMember, request_id: uuid.UUID) -> HttpResponse:
    """A request's outcome. The answer (payload) is shown on the requesting side only."""
    found = selectors.request_for_staff(staff=staff, request_id=request_id)
    if found is None:
        raise Http404(_("No such request for you."))
    is_requester = found.requester_id == staff.institution_id
    subject = None
    if found.subject is not None and is_requester:
        # Who was queried, as the confirmation showed them: the clerk checks the result
        # against the right person.
        subject = subject_of_request(
            institution=staff.institution, person=found.subject, case=found.case
        )
    return render(
        request,
        "agencies/staff/request_detail.html",
        {
            "staff": staff,
            "req": found,
            "subject": subject,
            # Why a request is held (不開示 or a manual answer) only for those who decide it.
            "message": LinkageOutcome(found).message_for(
                staff.institution_id if staff.role in DECIDING_ROLES else None
            ),
            "nondisclosure": nondisclosure_shown_to(staff=staff, request=found),
            "payload": found.payload if is_requester else None,
            "is_requester": is_requester,
            "can_decide": _can_decide(staff, found),
        },
    )


@staff_required
def request_list(request: HttpRequest, staff: StaffMember) -> HttpResponse:
    """The staff member's own latest requests."""
    return render(
        request,
        "agencies/staff/request_list.html",
        {"staff": staff, "requests": selectors.requests_of_staff(staff=staff)},
    )


def _can_decide(staff: StaffMember, found: LinkageRequest) -> bool:
    return (
        found.status == LinkageStatus.HELD
        and found.provider_id == staff.institution_id
        and staff.role in DECIDING_ROLES
    )


@staff_required
def held_list(request: HttpRequest, staff: StaffMember) -> HttpResponse:
    """The provider's queue of requests held for a manual answer, oldest first: how long each
    has waited, who asked about whom, and, for those who decide, whether it is 不開示."""
    return render(
        request,
        "agencies/staff/held_list.html",
        {
            "staff": staff,
            "rows": held_queue(staff=staff),
            "may_decide": staff.role in DECIDING_ROLES,
            "now": timezone.now(),
        },
    )


def _held_or_404(staff: StaffMember, request_id: uuid.UUID) -> LinkageRequest:
    held = selectors.request_asked_of(institution=staff.institution, request_id=request_id)
    if held is None:
        raise Http404(_("No such held request for your institution."))
    return held


@require_POST
@staff_required
def held_decide(
    request: HttpRequest, staff: StaffMember, request_id: uuid.UUID, release: bool
) -> HttpResponse:
    """Release (answer from the 副本) or decline a held request of one's own institution. A
    不開示 request is released only from its confirmation page (held_release_confirm)."""
    held = _held_or_404(staff, request_id)
    if _can_decide(staff, held) and release and held.nondisclosure:
        return redirect("staff:held-release-confirm", request_id=held.request_id)
    try:
        held_request_decide(staff=staff, request=held, release=release)
    except NotAllowed as exc:
        messages.error(request, pick_language(str(exc)))
    else:
        done = _("Released.") if release else _("Declined.")
        messages.success(request, done)
    return redirect("staff:held-list")


@staff_required
def held_release_confirm(
    request: HttpRequest, staff: StaffMember, request_id: uuid.UUID
) -> HttpResponse:
    """Release a request held because its subject is 不開示: only after an explicit
    confirmation and with a reason chosen from the list, which the release's ledger entry
    records. Only the provider's operators and supervisors get here."""
    held = _held_or_404(staff, request_id)
    if staff.role not in DECIDING_ROLES or held.status != LinkageStatus.HELD:
        messages.error(request, _("Only provider operators and supervisors may answer them."))
        return redirect("staff:held-list")
    form = NondisclosureReleaseForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            held_request_decide(
                staff=staff,
                request=held,
                release=True,
                decision_reason=form.cleaned_data["decision_reason"],
            )
        except NotAllowed as exc:
            form.add_error(None, pick_language(str(exc)))
        else:
            messages.success(request, _("Released."))
            return redirect("staff:held-list")
    return render(
        request,
        "agencies/staff/held_release.html",
        {
            "staff": staff,
            "req": held,
            "row": held_row(staff=staff, request=held),
            "form": form,
        },
        status=400 if form.is_bound else 200,
    )


# --- 一括照会 (batch queries) ---------------------------------------------------------------


@staff_required
def batch_list(request: HttpRequest, staff: StaffMember) -> HttpResponse:
    """The department's batch queries, newest first, each with its progress."""
    batches = list(batches_of_staff(staff=staff)[:200])
    progress = batches_progress(batches)
    return render(
        request,
        "agencies/staff/batch_list.html",
        {"staff": staff, "rows": [(b, progress[b.pk]) for b in batches]},
    )


@staff_required
def batch_new(request: HttpRequest, staff: StaffMember) -> HttpResponse:
    """Open a batch query (一括照会) for the department: one route the permitted table allows
    for the staff member's affairs today, a purpose, and the residents' 宛名番号. Sending
    starts in the background (agencies.tasks.batch_send_task)."""
    routes = permitted_routes(
        requester=staff.institution,
        affairs=list(staff.assigned_affairs.all()),
        day=timezone.localdate(),
    )
    form = BatchForm(request.POST if request.method == "POST" else None, routes=routes)
    if form.is_bound and form.is_valid():
        data, route = form.cleaned_data, form.cleaned_data["route_obj"]
        try:
            batch = batch_open(
                staff=staff,
                affair=route.affair,
                item=route.item,
                provider=route.provider,
                purpose=data["purpose"],
                addressee_numbers=data["subjects"],
            )
        except BatchError as exc:
            form.add_error(exc.field, str(exc.message))
        else:
            _start_sending(request, batch.pk)
            messages.success(request, _("Batch query opened."))
            return redirect("staff:batch-detail", batch_id=batch.pk)
    return render(
        request,
        "agencies/staff/batch_new.html",
        {"staff": staff, "form": form, "has_routes": bool(routes)},
        status=400 if form.is_bound else 200,
    )


def _start_sending(request: HttpRequest, batch_pk: int) -> None:
    # After the commit, so the worker finds the batch; a queue that cannot be reached leaves
    # the batch to be resumed from its page.
    def enqueue() -> None:
        if not batch_send_enqueue(batch_pk):
            messages.warning(
                request,
                _("Sending could not start now. Resume it from this page later."),
            )

    transaction.on_commit(enqueue)


def _batch_or_404(staff: StaffMember, batch_id: int) -> Batch:
    batch = batch_of_staff(staff=staff, batch_id=batch_id)
    if batch is None:
        raise Http404(_("No such batch query in your department."))
    return batch


@staff_required
def batch_detail(request: HttpRequest, staff: StaffMember, batch_id: int) -> HttpResponse:
    """A batch query: what it asks, its progress, and its requests (refused ones first)."""
    batch = _batch_or_404(staff, batch_id)
    return render(
        request,
        "agencies/staff/batch_detail.html",
        {
            "staff": staff,
            "batch": batch,
            "progress": batch_progress(batch),
            "refused": requests_of_batch(batch=batch, status=LinkageStatus.REFUSED)[:100],
            "requests": requests_of_batch(batch=batch)[:100],
        },
    )


@require_POST
@staff_required
def batch_resume(request: HttpRequest, staff: StaffMember, batch_id: int) -> HttpResponse:
    """Start sending a batch's remaining requests again (after a stop): nothing already sent
    is sent twice."""
    batch = _batch_or_404(staff, batch_id)
    if batch_progress(batch).remaining:
        _start_sending(request, batch.pk)
        messages.success(request, _("Sending resumed."))
    return redirect("staff:batch-detail", batch_id=batch.pk)
