"""Who may use the dashboard and what each may see (監査担当の権限).

- National auditors (the auditors group, audit.selectors.user_is_auditor) see every entry,
  the 不開示 marker included.
- A privacy officer (detection.PrivacyOfficer) sees the entries that concern their
  organisation (dashboard.facts.organizations_of) and never one that carries the 不開示
  marker: such entries are left out of every list, count, chart, export and page, and the
  marker itself is never shown to them. Only they may reveal who a staff pseudonym of their
  organisation is.
- Anybody else (a staff member, an anonymous visitor, a resident's portal session, which is
  not a Django user at all) is no auditor.

Every selector and service of the dashboard takes an AuditorScope and applies it; views only
obtain it (auditor_required).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from agencies.events import actor_pseudonym
from audit.selectors import user_is_auditor
from dashboard.facts import EntryFacts


class NotAllowed(Exception):
    """The auditor's role does not allow this (the message says why, in both languages)."""


@dataclass(frozen=True)
class AuditorScope:
    """What one logged-in user may see on the dashboard.

    national: a member of the auditors group; organizations: the 団体コード of the
    organisations the user is a privacy officer of (possibly as well).
    """

    user: Any
    national: bool
    organizations: frozenset[str]

    @cached_property
    def actor(self) -> str:
        """How the ledger names this auditor (agencies.events.actor_pseudonym)."""
        return actor_pseudonym(self.user)

    @property
    def sees_nondisclosure(self) -> bool:
        """Only national auditors see 不開示 entries and the marker."""
        return self.national

    def sees(self, facts: EntryFacts) -> bool:
        """Whether this auditor may see the entry."""
        if self.national:
            return True
        return not facts.nondisclosure and bool(facts.organizations & self.organizations)

    def organization_for(self, organizations: frozenset[str] | None = None) -> str:
        """The privacy officer's organisation a look happened under, for the ledger entry:
        the one of theirs the entry concerns (organizations), or their only one; "" for a
        national auditor, or when it is not one organisation."""
        if self.national:
            return ""
        mine = sorted(self.organizations & organizations) if organizations else []
        if mine:
            return mine[0]
        return next(iter(self.organizations)) if len(self.organizations) == 1 else ""

    def apply(self, entries: QuerySet[Any]) -> QuerySet[Any]:
        """Restrict a queryset of IndexedEntry to what this auditor may see: every row for a
        national auditor; for a privacy officer, rows of their organisations without the
        不開示 marker, filtered in the query itself."""
        if self.national:
            return entries
        entries = entries.exclude(nondisclosure=True)
        if len(self.organizations) == 1:
            # A join: the database walks the officer's rows in the (organisation, seq) key,
            # newest first, instead of the whole log.
            return entries.filter(organizations__organization=next(iter(self.organizations)))
        # Several organisations: a semi-join, so an entry of two of them comes once.
        from dashboard.models import EntryOrganization

        return entries.filter(
            seq__in=EntryOrganization.objects.filter(organization__in=self.organizations).values(
                "entry_id"
            )
        )


def scope_of(user: Any) -> AuditorScope | None:
    """The user's scope, or None when the user is no auditor (anonymous, inactive, plain
    staff). Read from the database on every call: a role ended takes effect at once."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    from detection.models import PrivacyOfficer

    national = user_is_auditor(user)
    organizations = frozenset(
        PrivacyOfficer.objects.filter(user=user, ended_at__isnull=True).values_list(
            "organization__code", flat=True
        )
    )
    if not national and not organizations:
        return None
    return AuditorScope(user=user, national=national, organizations=organizations)


def require_scope(user: Any) -> AuditorScope:
    """The user's scope, or NotAllowed: for services, which check again whatever the view did."""
    scope = scope_of(user)
    if scope is None:
        raise NotAllowed(_("Only auditors may do this."))
    return scope


P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)
AuditorView = Callable[Concatenate[HttpRequest, AuditorScope, P], R]


def auditor_required(
    view: AuditorView[P, R],
) -> Callable[Concatenate[HttpRequest, P], R | HttpResponse]:
    """Log in first (the dashboard's own login page); a logged-in user who is no auditor gets
    403. The view receives the AuditorScope."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> R | HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("dashboard:login"))
        scope = scope_of(request.user)
        if scope is None:
            return render(request, "dashboard/not_auditor.html", status=403)
        return view(request, scope, *args, **kwargs)

    return wrapped
