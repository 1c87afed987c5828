"""Write services of the detection app: what auditors change (rule switches and thresholds,
the watchlist) and the triage of alerts (status, assignee, notes). Each runs in one
transaction and writes its ledger entry in it (detection.events), so the rules in force and
every decision about an alert can be read back from the log with who made them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from agencies.models import Person
from audit.entries import subject_pseudonym
from audit.ledger import ledger_append
from detection.actors import actor_pseudonym
from detection.events import (
    ALERT_TRIAGED,
    RULE_CHANGED,
    WATCHLIST_ADDED,
    WATCHLIST_REMOVED,
    params_text,
)
from detection.models import (
    Alert,
    AlertNote,
    AlertStatus,
    DismissReason,
    RuleSetting,
    WatchlistEntry,
    WatchReason,
)
from detection.rules import check_params, rule_get


class DetectionError(Exception):
    """The change asked for is not allowed (the message says why, in Japanese and English)."""


@transaction.atomic
def rule_setting_change(
    *, code: str, enabled: bool, params: Mapping[str, Any], actor: Any
) -> RuleSetting:
    """Switch rule `code` on or off and set its thresholds (unnamed ones take the rule's
    defaults); recorded as detection.rule_changed. DetectionError for an unknown rule or a
    threshold it does not declare or out of its range."""
    try:
        rule = rule_get(code)
        checked = check_params(rule, params)
    except (KeyError, ValueError) as exc:
        raise DetectionError(
            format_lazy("{}{}", _("Invalid rule setting: "), exc.args[0] if exc.args else exc)
        ) from None
    setting, _created = RuleSetting.objects.select_for_update().get_or_create(code=code)
    setting.enabled = enabled
    setting.params = checked
    setting.changed_at = timezone.now()
    setting.changed_by = actor
    setting.save()
    ledger_append(
        event_type=RULE_CHANGED,
        fields={
            "rule": code,
            "enabled": enabled,
            "params": params_text(checked),
            "actor": actor_pseudonym(actor),
        },
        moment=setting.changed_at,
    )
    return setting


@transaction.atomic
def watchlist_add(*, person: Person, reason: str, actor: Any) -> WatchlistEntry:
    """Put person on the watchlist (every query about them raises an alert); recorded as
    detection.watchlist_added, the person by subject pseudonym. A person already watched
    stays as they are (DetectionError)."""
    if reason not in WatchReason.values:
        raise DetectionError(_("Unknown reason."))
    if WatchlistEntry.objects.filter(person=person, removed_at__isnull=True).exists():
        raise DetectionError(_("Already on the watchlist."))
    now = timezone.now()
    subject = subject_pseudonym(str(person.public_id))
    entry = WatchlistEntry.objects.create(
        person=person, subject=subject, reason=reason, added_at=now, added_by=actor
    )
    ledger_append(
        event_type=WATCHLIST_ADDED,
        fields={"reason": reason, "actor": actor_pseudonym(actor)},
        subject=subject,
        moment=now,
    )
    return entry


@transaction.atomic
def watchlist_remove(*, entry: WatchlistEntry, actor: Any) -> WatchlistEntry:
    """Take a watched person off the list (the row stays, ended); recorded as
    detection.watchlist_removed. Removing an ended entry changes nothing."""
    entry = WatchlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.removed_at is not None:
        return entry
    entry.removed_at = timezone.now()
    entry.removed_by = actor
    entry.save(update_fields=["removed_at", "removed_by"])
    ledger_append(
        event_type=WATCHLIST_REMOVED,
        fields={"actor": actor_pseudonym(actor)},
        subject=entry.subject,
        moment=entry.removed_at,
    )
    return entry


# Which status may follow which: a decided alert may be reopened for investigation.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    AlertStatus.NEW: frozenset({AlertStatus.INVESTIGATING, AlertStatus.DISMISSED}),
    AlertStatus.INVESTIGATING: frozenset(
        {AlertStatus.CONFIRMED, AlertStatus.DISMISSED, AlertStatus.NEW}
    ),
    AlertStatus.CONFIRMED: frozenset({AlertStatus.INVESTIGATING}),
    AlertStatus.DISMISSED: frozenset({AlertStatus.INVESTIGATING}),
}


def _triage_entry(alert: Alert, actor: Any, **extra: object) -> None:
    ledger_append(
        event_type=ALERT_TRIAGED,
        fields={
            "alert": str(alert.pk),
            "rule": alert.rule,
            "status": alert.status,
            "actor": actor_pseudonym(actor),
            **extra,
        },
    )


@transaction.atomic
def alert_transition(
    *, alert: Alert, status: str, actor: Any, reason: str = "", note: str = ""
) -> Alert:
    """Move an alert to status (new -> investigating -> confirmed or dismissed; dismissing
    needs a reason, DismissReason; a decided alert may be reopened), with an optional note;
    recorded as detection.alert_triaged. DetectionError for a move the workflow does not
    allow."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if status not in TRANSITIONS.get(alert.status, frozenset()):
        raise DetectionError(
            f"状態を{alert.status}から{status}には変更できません。 "
            f"(An alert cannot go from {alert.status} to {status}.)"
        )
    if status == AlertStatus.DISMISSED and reason not in DismissReason.values:
        raise DetectionError(_("Dismissing an alert needs a reason."))
    alert.status = status
    alert.dismiss_reason = reason if status == AlertStatus.DISMISSED else ""
    alert.updated_at = timezone.now()
    alert.save(update_fields=["status", "dismiss_reason", "updated_at"])
    if note:
        AlertNote.objects.create(alert=alert, author=actor, text=note, created_at=alert.updated_at)
    extra = {"reason": alert.dismiss_reason} if alert.dismiss_reason else {}
    _triage_entry(alert, actor, **extra)
    return alert


@transaction.atomic
def alert_assign(*, alert: Alert, assignee: Any, actor: Any) -> Alert:
    """Give an alert to an auditor (or to nobody with None); recorded as
    detection.alert_triaged with `assigned`."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    alert.assignee = assignee
    alert.updated_at = timezone.now()
    alert.save(update_fields=["assignee", "updated_at"])
    _triage_entry(alert, actor, assigned=assignee is not None)
    return alert


@transaction.atomic
def alert_note_add(*, alert: Alert, author: Any, text: str) -> AlertNote:
    """Add an auditor's note to an alert. Notes are free text and stay in this table: they
    are never copied to the ledger or to a mail."""
    if not text.strip():
        raise DetectionError(_("The note is empty."))
    return AlertNote.objects.create(
        alert=alert, author=author, text=text.strip(), created_at=timezone.now()
    )
