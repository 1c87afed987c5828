"""Write services of the alert queue: triage (status, assignee, notes, bulk actions), the rule
settings and the watchlist, as auditors do them on the dashboard.

Each checks the caller's role itself (dashboard.access.require_scope) and then calls
detection.services, which changes the row and writes its ledger entry in one transaction:
nothing here repeats the workflow's rules. An alert outside the caller's scope (another
organisation's, or a restricted one for a privacy officer) raises NotAllowed exactly as one
that does not exist, so that views answer both with 404. Rules and the watchlist are the
national auditors' (NotAllowed for privacy officers).

Looking at an alert's linked entries is a look at personal records: alert_view records one
audit.view per person among the entries shown, before they are shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from dashboard import events
from dashboard.access import AuditorScope, NotAllowed, require_scope
from dashboard.alert_selectors import LinkedEntries, alert_in_scope, assignees_for, linked_entries
from dashboard.services import PurposeRequired, _record_view, _require_purpose
from detection import services as detection
from detection.models import (
    Alert,
    AlertNote,
    AlertStatus,
    RuleSetting,
    SubjectIndex,
    WatchlistEntry,
)
from detection.selectors import subject_index_fill

__all__ = ["PurposeRequired"]

NO_SUCH_ALERT = _("No such alert.")


class BulkAction:
    """What a bulk action on selected alerts does."""

    ASSIGN_ME = "assign_me"
    INVESTIGATE = "investigate"
    DISMISS = "dismiss"
    CHOICES = (ASSIGN_ME, INVESTIGATE, DISMISS)


def _alert(scope: AuditorScope, alert_id: int) -> Alert:
    alert = alert_in_scope(scope, alert_id)
    if alert is None:
        raise NotAllowed(NO_SUCH_ALERT)
    return alert


def _national(user: Any) -> AuditorScope:
    scope = require_scope(user)
    if not scope.national:
        raise NotAllowed(_("Only national auditors may do this."))
    return scope


@dataclass(frozen=True)
class AlertOnRecord:
    """An alert and one page of its linked entries, as this auditor may see them."""

    alert: Alert
    entries: LinkedEntries


@transaction.atomic
def alert_view(*, user: Any, alert_id: int, purpose: str = "", page: int = 1) -> AlertOnRecord:
    """The alert and page `page` of its linked entries (read from the ledger), for this
    auditor; NotAllowed when the alert is outside their scope or does not exist.

    When the entries shown are about persons, a stated purpose is required (PurposeRequired)
    and one audit.view (view "alert", naming the alert) per person is recorded before they
    are returned, marked 不開示 when one of that person's entries is.
    """
    scope = require_scope(user)
    alert = _alert(scope, alert_id)
    entries = linked_entries(scope, alert, page)
    about: dict[str, list[Any]] = defaultdict(list)
    for facts in entries.facts:
        if facts.subject:
            about[facts.subject].append(facts)
    if about:
        purpose = _require_purpose(purpose)
    for subject, facts_of in sorted(about.items()):
        _record_view(
            scope=scope,
            view=events.VIEW_ALERT,
            purpose=purpose,
            subject=subject,
            record=facts_of[0].intake_id if len(facts_of) == 1 else None,
            organizations=frozenset().union(*(f.organizations for f in facts_of)),
            nondisclosure=any(f.nondisclosure for f in facts_of),
            alert=alert.pk,
        )
    return AlertOnRecord(alert, entries)


@transaction.atomic
def alert_triage(
    *, user: Any, alert_id: int, status: str, reason: str = "", note: str = ""
) -> Alert:
    """Move an alert in scope to status (detection.services.alert_transition: the workflow,
    a reason to dismiss, the ledger entry). NotAllowed out of scope; DetectionError for a
    move the workflow refuses (nothing written)."""
    scope = require_scope(user)
    return detection.alert_transition(
        alert=_alert(scope, alert_id), status=status, actor=user, reason=reason, note=note
    )


@transaction.atomic
def alert_assign(*, user: Any, alert_id: int, assignee_id: int | None) -> Alert:
    """Give an alert in scope to an auditor who may see it (assignees_for), or to nobody
    (None); detection.services.alert_assign writes the ledger entry. DetectionError for an
    assignee who may not see the alert."""
    scope = require_scope(user)
    alert = _alert(scope, alert_id)
    assignee = None
    if assignee_id is not None:
        assignee = next((u for u in assignees_for(alert) if u.pk == assignee_id), None)
        if assignee is None:
            raise detection.DetectionError(_("This user cannot take this alert."))
    return detection.alert_assign(alert=alert, assignee=assignee, actor=user)


@transaction.atomic
def alert_note(*, user: Any, alert_id: int, text: str) -> AlertNote:
    """Add a note to an alert in scope (detection.services.alert_note_add: kept off the ledger
    and out of mails, since it is free text)."""
    scope = require_scope(user)
    return detection.alert_note_add(alert=_alert(scope, alert_id), author=user, text=text)


@transaction.atomic
def alerts_bulk(*, user: Any, alert_ids: Iterable[int], action: str, reason: str = "") -> int:
    """Apply one action to each selected alert, each through detection.services (its own
    ledger entry); returns how many changed. Alerts already in the state asked for are left
    as they are. All or nothing: one alert out of scope (NotAllowed) or one move the
    workflow refuses (DetectionError) and no alert changes."""
    scope = require_scope(user)
    if action not in BulkAction.CHOICES:
        raise detection.DetectionError(_("Unknown action."))
    alerts = [_alert(scope, alert_id) for alert_id in sorted(set(alert_ids))]
    if not alerts:
        raise detection.DetectionError(_("Select alerts first."))
    changed = 0
    for alert in alerts:
        if action == BulkAction.ASSIGN_ME:
            if alert.assignee_id == user.pk:
                continue
            detection.alert_assign(alert=alert, assignee=user, actor=user)
        else:
            status = (
                AlertStatus.INVESTIGATING
                if action == BulkAction.INVESTIGATE
                else AlertStatus.DISMISSED
            )
            if alert.status == status:
                continue
            try:
                detection.alert_transition(alert=alert, status=status, actor=user, reason=reason)
            except detection.DetectionError as exc:
                # Which alert stopped the batch (nothing of the batch is kept).
                raise detection.DetectionError(
                    format_lazy(_("Alert #{number}: {message}"), number=alert.pk, message=exc)
                ) from None
        changed += 1
    return changed


# --- rules and the watchlist (national auditors) -----------------------------------------------


def rule_change(*, user: Any, code: str, enabled: bool, params: Mapping[str, Any]) -> RuleSetting:
    """Set a rule's switch and thresholds (national auditors only, NotAllowed otherwise);
    detection.services.rule_setting_change checks them against the catalogue and writes
    detection.rule_changed."""
    _national(user)
    return detection.rule_setting_change(code=code, enabled=enabled, params=params, actor=user)


def _person_of(subject: str) -> Any:
    found = SubjectIndex.objects.select_related("person").filter(pseudonym=subject).first()
    if found is None:
        # A person the scanner has not indexed yet (no entry about them so far): index the
        # newcomers as the scanner does, then look again.
        try:
            with transaction.atomic():
                subject_index_fill()
        except IntegrityError:
            pass  # the scanner indexed them at the same moment
        found = SubjectIndex.objects.select_related("person").filter(pseudonym=subject).first()
    if found is None:
        raise detection.DetectionError(_("No resident has this subject pseudonym."))
    return found.person


@transaction.atomic
def watch_add(*, user: Any, subject: str, reason: str) -> WatchlistEntry:
    """Put the person behind a subject pseudonym on the watchlist (national auditors only);
    detection.services.watchlist_add writes detection.watchlist_added with the pseudonym.
    DetectionError for an unknown pseudonym, a bad reason or a person already watched."""
    _national(user)
    return detection.watchlist_add(person=_person_of(subject), reason=reason, actor=user)


@transaction.atomic
def watch_remove(*, user: Any, entry_id: int) -> WatchlistEntry:
    """Take a watched person off the list (national auditors only; NotAllowed for an entry
    that does not exist); detection.services.watchlist_remove writes the ledger entry."""
    _national(user)
    entry = WatchlistEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise NotAllowed(_("No such watchlist entry."))
    return detection.watchlist_remove(entry=entry, actor=user)
