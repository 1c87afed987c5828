"""Write services of the dashboard. Each is keyword-only, checks the caller's role itself
(dashboard.access: whatever a view did before), runs in one transaction and writes its ledger
entry inside it; views and tasks call these and hold no rules.

Looking is writing here: every look at a person's records (an entry with a subject, a search
by subject pseudonym, an enquiry, an export filtered by subject) or at a staff member's
activity is an audit.view entry, appended before anything is shown. If the ledger cannot take
it, nothing is shown (fail closed).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.events import actor_pseudonym
from agencies.models import Organization, StaffMember
from audit.entries import subject_pseudonym
from audit.ledger import ledger_append, retention_cutoff
from audit.tlog.errors import TlogError
from audit.verification import verify_log
from dashboard import events, progress
from dashboard.access import AuditorScope, NotAllowed, require_scope
from dashboard.facts import EntryFacts, entry_facts
from dashboard.mail import mail_auditors
from dashboard.models import (
    IdentityReveal,
    RevealReason,
    VerificationRun,
    VerificationStatus,
    WitnessRefusalRecord,
)
from dashboard.purposes import purpose_or_none
from detection.models import PrivacyOfficer
from portal import services as portal_services
from portal.models import Enquiry

log = logging.getLogger(__name__)


class EntryGone(Exception):
    """The entry is past the retention period: it stays in the tree but is shown to nobody."""


class PurposeRequired(NotAllowed):
    """A look at a person's records or a staff member's activity needs a stated purpose."""


def _require_purpose(purpose: str) -> str:
    found = purpose_or_none(purpose)
    if found is None:
        raise PurposeRequired(_("State the purpose of this look."))
    return found


def _record_view(
    *,
    scope: AuditorScope,
    view: str,
    purpose: str,
    subject: str = "",
    record: int | None = None,
    staff: str = "",
    organizations: frozenset[str] | None = None,
    nondisclosure: bool = False,
    alert: int | None = None,
) -> None:
    fields: dict[str, object] = {"actor": scope.actor, "view": view, "purpose": purpose}
    if record is not None:
        fields["record"] = str(record)
    if alert is not None:
        fields["alert"] = str(alert)
    if staff:
        fields["staff"] = staff
    organization = scope.organization_for(organizations)
    if organization:
        fields["organization"] = organization
    if nondisclosure:
        # A look at a 不開示 entry is itself hidden wherever that entry is (the resident's
        # list, proxies, privacy officers): it would otherwise point at it.
        fields["nondisclosure"] = True
    ledger_append(event_type=events.AUDIT_VIEW, fields=fields, subject=subject)


# --- looking at entries, subjects, staff ------------------------------------------------------


@transaction.atomic
def entry_view(*, user: Any, seq: int, purpose: str = "") -> EntryFacts | None:
    """Entry seq for this auditor, read from the ledger, or None when there is no such entry
    or it is outside their scope (a privacy officer: another organisation's, or 不開示).

    An entry about a person needs a stated purpose (NotAllowed otherwise) and the look is
    recorded (audit.view, view "entry", about that person) before the entry is returned.
    Raises EntryGone for an entry past the retention period.
    """
    scope = require_scope(user)
    facts = entry_facts(seq)
    if facts is None or not scope.sees(facts):
        return None
    if facts.recorded_at < retention_cutoff():
        raise EntryGone(f"entry {seq} is past the retention period")
    if facts.subject:
        _record_view(
            scope=scope,
            view=events.VIEW_ENTRY,
            purpose=_require_purpose(purpose),
            subject=facts.subject,
            record=facts.intake_id,
            organizations=facts.organizations,
            nondisclosure=facts.nondisclosure,
        )
    return facts


@transaction.atomic
def subject_search_record(*, user: Any, subject: str, purpose: str) -> AuditorScope:
    """Record that this auditor is about to list the entries of subject (a pseudonym), for
    the stated purpose (audit.view, view "subject_search", about that person); returns the
    scope to list them with (dashboard.selectors)."""
    scope = require_scope(user)
    _record_view(
        scope=scope,
        view=events.VIEW_SUBJECT,
        purpose=_require_purpose(purpose),
        subject=subject,
    )
    return scope


@transaction.atomic
def staff_search_record(*, user: Any, pseudonym: str, purpose: str) -> AuditorScope:
    """Record that this auditor is about to list the entries of a staff pseudonym (audit.view,
    view "staff"); returns the scope to list them with. The list itself is scoped: a privacy
    officer sees that pseudonym's entries concerning their organisation only."""
    scope = require_scope(user)
    member = (
        StaffMember.objects.select_related("institution__organization")
        .filter(audit_pseudonym=pseudonym)
        .first()
    )
    _record_view(
        scope=scope,
        view=events.VIEW_STAFF,
        purpose=_require_purpose(purpose),
        staff=pseudonym,
        organizations=frozenset({member.institution.organization.code}) if member else None,
    )
    return scope


def staff_in_scope(scope: AuditorScope, pseudonym: str) -> StaffMember | None:
    """The staff member behind pseudonym if this auditor may look at their activity: any for
    a national auditor, only their organisation's for a privacy officer."""
    member = (
        StaffMember.objects.select_related("user", "department", "institution__organization")
        .filter(audit_pseudonym=pseudonym)
        .first()
    )
    if member is None:
        return None
    if scope.national or member.institution.organization.code in scope.organizations:
        return member
    return None


@transaction.atomic
def staff_view(*, user: Any, pseudonym: str, purpose: str) -> StaffMember | None:
    """Record that this auditor looks at a staff member's activity (audit.view, view
    "staff", naming the pseudonym) and return the member, or None (nothing recorded) when
    there is no such staff member in their scope. A national auditor may also look at the
    entries of a pseudonym no staff member holds (returns None, but records the look)."""
    scope = require_scope(user)
    member = staff_in_scope(scope, pseudonym)
    if member is None and not (
        scope.national and not StaffMember.objects.filter(audit_pseudonym=pseudonym).exists()
    ):
        return None
    organizations = (
        frozenset({member.institution.organization.code}) if member is not None else None
    )
    _record_view(
        scope=scope,
        view=events.VIEW_STAFF,
        purpose=_require_purpose(purpose),
        staff=pseudonym,
        organizations=organizations,
    )
    return member


@transaction.atomic
def export_record(*, user: Any, subject: str = "", staff: str = "", purpose: str = "") -> None:
    """Record that this auditor exports entries as CSV (audit.view, view "export"): about
    the subject when filtered by one (a purpose is then required), naming the staff
    pseudonym when filtered by one."""
    scope = require_scope(user)
    if subject or staff:
        purpose = _require_purpose(purpose)
    else:
        purpose = purpose_or_none(purpose) or "routine_audit"
    _record_view(
        scope=scope, view=events.VIEW_EXPORT, purpose=purpose, subject=subject, staff=staff
    )


# --- enquiries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnquiryOnRecord:
    """An enquiry and the entry it is about, as this auditor may see it."""

    enquiry: Enquiry
    facts: EntryFacts


def _enquiry_in_scope(scope: AuditorScope, enquiry_id: uuid.UUID | str) -> EnquiryOnRecord:
    enquiry = Enquiry.objects.select_related("person").filter(public_id=enquiry_id).first()
    facts = entry_facts(intake_id=enquiry.intake_id) if enquiry is not None else None
    if enquiry is None or facts is None or not scope.sees(facts):
        # Another organisation's enquiry is as absent as one that does not exist.
        raise NotAllowed(_("No such enquiry."))
    return EnquiryOnRecord(enquiry, facts)


@transaction.atomic
def enquiry_view(*, user: Any, enquiry_id: uuid.UUID | str) -> EnquiryOnRecord:
    """An enquiry with its record, for this auditor: NotAllowed when it is about an entry
    outside their scope (or not yet sequenced). The look is recorded (audit.view, view
    "enquiry", purpose "enquiry", about the resident): the question is the resident's own
    words about their record."""
    scope = require_scope(user)
    found = _enquiry_in_scope(scope, enquiry_id)
    _record_view(
        scope=scope,
        view=events.VIEW_ENQUIRY,
        purpose="enquiry",
        subject=subject_pseudonym(str(found.enquiry.person.public_id)),
        record=found.facts.intake_id,
        organizations=found.facts.organizations,
        nondisclosure=found.facts.nondisclosure,
    )
    return found


@transaction.atomic
def enquiry_reply(*, user: Any, enquiry_id: uuid.UUID | str, answer: str) -> Enquiry:
    """Answer an enquiry this auditor may see (portal.services.enquiry_answer: the resident
    sees the answer and is notified; ledger: enquiry.answer naming the auditor)."""
    scope = require_scope(user)
    _enquiry_in_scope(scope, enquiry_id)
    return portal_services.enquiry_answer(enquiry_id=enquiry_id, answer=answer, actor=scope.actor)


@transaction.atomic
def enquiry_close(*, user: Any, enquiry_id: uuid.UUID | str) -> Enquiry:
    """Close an enquiry this auditor may see (portal.services.enquiry_close; ledger:
    enquiry.close)."""
    scope = require_scope(user)
    _enquiry_in_scope(scope, enquiry_id)
    return portal_services.enquiry_close(enquiry_id=enquiry_id, actor=scope.actor)


# --- who is behind a staff pseudonym --------------------------------------------------------

REVEAL_NOTE_MAX = 1000
# How long a reveal's page shows the identity (then a new reveal, with its reason, is needed).
REVEAL_SHOWN_FOR = dt.timedelta(minutes=10)


@transaction.atomic
def identity_reveal(*, user: Any, pseudonym: str, reason: str, note: str) -> IdentityReveal:
    """Reveal who a staff pseudonym is, to a privacy officer of that staff member's
    organisation only (a national auditor who is not one may not), with a reason from the
    list and an explanation. The explanation is kept here only; the ledger gets audit.reveal
    with the officer, the pseudonym, the organisation and the reason."""
    scope = require_scope(user)
    member = (
        StaffMember.objects.select_related("institution__organization")
        .filter(audit_pseudonym=pseudonym)
        .first()
    )
    if member is None or member.institution.organization.code not in scope.organizations:
        raise NotAllowed(
            "職員の特定はその職員の団体の個人情報保護担当のみが行えます。 "
            "(Only a privacy officer of the staff member's organisation may reveal who it is.)"
        )
    if reason not in RevealReason.values:
        raise NotAllowed(_("Choose a reason from the list."))
    note = note.strip()
    if not note or len(note) > REVEAL_NOTE_MAX:
        raise NotAllowed(
            f"説明を{REVEAL_NOTE_MAX}字以内で入力してください。 "
            f"(Explain why, in up to {REVEAL_NOTE_MAX} characters.)"
        )
    organization = member.institution.organization
    reveal = IdentityReveal.objects.create(
        officer=user,
        organization=organization,
        staff=member,
        reason=reason,
        note=note,
        revealed_at=timezone.now(),
    )
    ledger_append(
        event_type=events.AUDIT_REVEAL,
        fields={
            "actor": scope.actor,
            "staff": pseudonym,
            "organization": organization.code,
            "reason": reason,
        },
        moment=reveal.revealed_at,
    )
    return reveal


# --- privacy officers -----------------------------------------------------------------------


@transaction.atomic
def privacy_officer_appoint(
    *, actor: Any, user: Any, organization: Organization, language: str = "ja"
) -> PrivacyOfficer:
    """Appoint user privacy officer of organization (from the admin or a command; actor is
    who did it, or None for the system); detection mails them in language. Ledger:
    officer.appointed."""
    if PrivacyOfficer.objects.filter(
        user=user, organization=organization, ended_at__isnull=True
    ).exists():
        raise ValueError(_("Already appointed."))
    officer = PrivacyOfficer.objects.create(
        user=user, organization=organization, language=language, appointed_at=timezone.now()
    )
    ledger_append(
        event_type=events.OFFICER_APPOINTED,
        fields={
            "officer": actor_pseudonym(user),
            "organization": organization.code,
            "actor": actor_pseudonym(actor),
        },
        moment=officer.appointed_at,
    )
    return officer


@transaction.atomic
def privacy_officer_end(*, actor: Any, officer: PrivacyOfficer) -> PrivacyOfficer:
    """End a privacy officer's role (at once: every page checks the role on each request).
    Ledger: officer.ended."""
    officer = (
        PrivacyOfficer.objects.select_for_update().select_related("organization").get(pk=officer.pk)
    )
    if officer.ended_at is not None:
        return officer
    officer.ended_at = timezone.now()
    officer.save(update_fields=["ended_at"])
    ledger_append(
        event_type=events.OFFICER_ENDED,
        fields={
            "officer": actor_pseudonym(officer.user),
            "organization": officer.organization.code,
            "actor": actor_pseudonym(actor),
        },
        moment=officer.ended_at,
    )
    return officer


# --- integrity: verification runs and witness refusals ----------------------------------------

# A run still queued or running after this long lost its worker: a new one may start.
VERIFY_ABANDONED_AFTER = dt.timedelta(hours=1)


@transaction.atomic
def verification_request(*, user: Any) -> VerificationRun:
    """Start a full verification of the log (national auditors only): a VerificationRun,
    queued, whose Celery task (dashboard.verify_log) is sent after the commit. While one is
    queued or running, that one is returned instead of a second."""
    scope = require_scope(user)
    if not scope.national:
        raise NotAllowed(
            "完全性の検証は監査担当（全国）のみが実行できます。 "
            "(Only national auditors run the verification.)"
        )
    now = timezone.now()
    active = (
        VerificationRun.objects.select_for_update()
        .filter(status__in=[VerificationStatus.QUEUED, VerificationStatus.RUNNING])
        .order_by("-requested_at")
        .first()
    )
    if active is not None:
        if now - active.requested_at < VERIFY_ABANDONED_AFTER:
            return active
        active.status = VerificationStatus.ERROR
        active.finished_at = now
        active.detail = "abandoned: no worker finished it within an hour"
        active.save(update_fields=["status", "finished_at", "detail"])
    run = VerificationRun.objects.create(requested_by=user, requested_at=now)

    def queue() -> None:
        from dashboard.tasks import verify_log_task

        verify_log_task.delay(run.pk)

    transaction.on_commit(queue)
    return run


def verification_perform(*, run_id: int) -> VerificationRun:
    """Run a queued verification (the task's body; idempotent: a run no longer queued is
    left alone). Progress is reported through dashboard.progress; the result is stored with
    its duration, and a failure mails the national auditors at once, in the same
    transaction as the result."""
    with transaction.atomic():
        run = VerificationRun.objects.select_for_update().get(pk=run_id)
        if run.status != VerificationStatus.QUEUED:
            return run
        run.status = VerificationStatus.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at"])
    reporter = progress.Reporter(run.pk)
    try:
        report = verify_log(progress=reporter, jobs=settings.DASHBOARD_VERIFY_JOBS)
    except TlogError as exc:
        status, damage, detail, size, checked = VerificationStatus.FAILED, None, str(exc), None, 0
    except Exception as exc:
        log.exception("verification run %s could not run", run.pk)
        status, damage, detail, size, checked = (
            VerificationStatus.ERROR,
            None,
            f"{type(exc).__name__}: {exc}"[:500],
            None,
            0,
        )
    else:
        damage = report.damage
        status = VerificationStatus.OK if damage is None else VerificationStatus.FAILED
        detail = "" if damage is None else str(damage)
        size, checked = report.size - report.first_seq, report.checkpoints_checked
    with transaction.atomic():
        run = VerificationRun.objects.select_for_update().get(pk=run_id)
        run.status = status
        run.finished_at = timezone.now()
        run.size = size
        run.checkpoints_checked = checked
        run.damage_seq = damage.seq if damage is not None else None
        run.damage_kind = damage.kind if damage is not None else ""
        run.detail = detail
        run.save()
        if status != VerificationStatus.OK:
            mail_auditors(
                kind="dashboard_verify_failed",
                key=str(run.pk),
                subject="【Yaritori】監査ログの検証に失敗 (The audit log failed verification)",
                body=(
                    "監査ログの完全性検証が失敗しました。直ちに確認してください。\n"
                    "The audit log's verification failed. Please look at once.\n\n"
                    f"run {run.pk}: {status}\n{detail}"
                ),
            )
    reporter.finish()
    return run


@transaction.atomic
def witness_refusal_record(*, witness: str, size: int | None, reason: str) -> WitnessRefusalRecord:
    """Store a witness's refusal (audit.signals.witness_refused) and mail the national
    auditors at once (one mail per refusal and auditor)."""
    refusal = WitnessRefusalRecord.objects.create(
        witness=witness[:100], size=size, reason=reason[:2000], occurred_at=timezone.now()
    )
    mail_auditors(
        kind="dashboard_witness_refused",
        key=str(refusal.pk),
        subject="【Yaritori】証人が連署を拒否しました (A witness refused to cosign)",
        body=(
            "証人が監査ログのチェックポイントへの連署を拒否しました。ログの分岐や巻き戻しの"
            "おそれがあります。直ちに確認してください。\n"
            "A witness refused to cosign the audit log's checkpoint: the log may have forked "
            "or rolled back. Please look at once.\n\n"
            f"witness: {witness}\nsize shown: {size}\nreason: {reason}"
        ),
    )
    return refusal
