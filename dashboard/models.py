"""The dashboard's tables: who audits which organisation, the search index of the ledger,
verification runs, witness refusals and identity reveals.

Nothing here is the ledger: IndexedEntry and EntryOrganization are a read model rebuilt from
the ledger's leaves (dashboard.indexer) so that entries can be filtered and counted at the
size of a national log; every fact a page states about one entry is read from the entry's own
leaf, not from here.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from agencies.models import Organization, StaffMember


class IndexedEntry(models.Model):
    """One sequenced ledger entry, its fields as columns (codes and pseudonyms, as in the
    leaf), for filtering and counting. Written only by dashboard.indexer, in sequence order;
    rebuildable at any time from the ledger."""

    seq = models.BigIntegerField(_("Sequence number"), primary_key=True)
    intake_id = models.BigIntegerField(_("Intake id"), unique=True)
    event_type = models.CharField(_("Event type"), max_length=40)
    time = models.DateTimeField(_("Time"), db_index=True)
    subject = models.CharField(pgettext_lazy("dashboard", "Subject"), max_length=26, blank=True)
    requester = models.CharField(_("Requester"), max_length=16, blank=True)
    provider = models.CharField(_("Provider"), max_length=16, blank=True)
    institution = models.CharField(_("Institution"), max_length=16, blank=True)
    organization = models.CharField(_("Organisation"), max_length=6, blank=True)
    affair = models.CharField(_("Affair"), max_length=16, blank=True)
    from_affair = models.CharField(_("From affair"), max_length=16, blank=True)
    item = models.CharField(_("Item"), max_length=16, blank=True)
    staff = models.CharField(pgettext_lazy("dashboard", "Staff"), max_length=18, blank=True)
    actor = models.CharField(_("Actor"), max_length=18, blank=True)
    case = models.CharField(_("Case"), max_length=40, blank=True)
    outcome = models.CharField(_("Outcome"), max_length=24, blank=True)
    reason = models.CharField(_("Reason"), max_length=48, blank=True)
    request_id = models.CharField(_("Request id"), max_length=36, blank=True)
    # None: the entry's type carries no 不開示 marker at all.
    nondisclosure = models.BooleanField(_("Not disclosed"), null=True)

    class Meta:
        verbose_name = _("Indexed entry")
        verbose_name_plural = _("Indexed entries")
        indexes = [
            models.Index(
                fields=["subject", "seq"], name="dash_entry_subject", condition=~Q(subject="")
            ),
            models.Index(fields=["case", "seq"], name="dash_entry_case", condition=~Q(case="")),
            models.Index(fields=["staff", "time"], name="dash_entry_staff", condition=~Q(staff="")),
            models.Index(fields=["event_type", "time"], name="dash_entry_type_time"),
        ]

    def __str__(self) -> str:
        return f"indexed entry {self.seq}"


class EntryOrganization(models.Model):
    """An organisation (団体コード) an indexed entry concerns: its requester's, provider's,
    institution's, or the one it names. A privacy officer's entries are found through this
    table's primary key (organisation, seq), newest first."""

    pk = models.CompositePrimaryKey("organization", "entry")
    organization = models.CharField(_("Organisation"), max_length=6)
    # No constraint in the database: rows are written in bulk beside their entries.
    entry = models.ForeignKey(
        IndexedEntry,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        # The primary key (organisation, seq) is the index every query uses.
        db_index=False,
        related_name="organizations",
        db_column="seq",
        verbose_name=_("Sequence number"),
    )

    class Meta:
        verbose_name = _("Entry organisation")
        verbose_name_plural = _("Entry organisations")

    def __str__(self) -> str:
        return f"{self.organization} {self.entry_id}"


class VerificationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    OK = "ok", _("Verified")
    FAILED = "failed", _("Damage found")
    ERROR = "error", _("Could not run")


class VerificationRun(models.Model):
    """一回の完全性検証: one run of audit.verification.verify_log over the whole log, from the
    dashboard's button (or a schedule): when, by whom, how long, and what it found."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Requested by"),
    )
    requested_at = models.DateTimeField(pgettext_lazy("dashboard", "Requested at"))
    started_at = models.DateTimeField(_("Started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("Finished at"), null=True, blank=True)
    status = models.CharField(
        _("Status"),
        max_length=8,
        choices=VerificationStatus.choices,
        default=VerificationStatus.QUEUED,
    )
    size = models.BigIntegerField(_("Entries verified"), null=True, blank=True)
    checkpoints_checked = models.IntegerField(_("Checkpoints checked"), null=True, blank=True)
    damage_seq = models.BigIntegerField(_("First damaged entry"), null=True, blank=True)
    damage_kind = models.CharField(_("Kind of damage"), max_length=20, blank=True)
    detail = models.TextField(_("Detail"), blank=True)

    class Meta:
        verbose_name = _("Verification run")
        verbose_name_plural = _("Verification runs")
        indexes = [models.Index(fields=["status", "requested_at"])]

    def __str__(self) -> str:
        return f"verification {self.pk} {self.status}"

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    @property
    def active(self) -> bool:
        return self.status in (VerificationStatus.QUEUED, VerificationStatus.RUNNING)


class WitnessRefusalRecord(models.Model):
    """証人の連署拒否: a witness refused to cosign a checkpoint of this log (audit.signals
    .witness_refused). The auditors are mailed at once; the panel shows it in red until the
    witness cosigns a later checkpoint."""

    witness = models.CharField(_("Witness"), max_length=100)
    size = models.BigIntegerField(_("Size shown"), null=True, blank=True)
    reason = models.TextField(_("Reason"))
    occurred_at = models.DateTimeField(_("At"))

    class Meta:
        verbose_name = _("Witness refusal")
        verbose_name_plural = _("Witness refusals")
        indexes = [models.Index(fields=["witness", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.witness} refused at {self.occurred_at:%Y-%m-%d %H:%M}"


class RevealReason(models.TextChoices):
    ALERT = "alert", _("Investigating an alert")
    ENQUIRY = "enquiry", _("Answering a resident's enquiry")
    COMPLAINT = "complaint", _("A complaint or a report")
    DISCIPLINARY = "disciplinary", _("A disciplinary procedure")
    LEGAL = "legal", _("A request under a law")


class IdentityReveal(models.Model):
    """職員の特定: a privacy officer saw who a staff pseudonym of their organisation is.

    The reason is chosen from a list and goes to the ledger (audit.reveal); the free text
    stays here only, since it may name people, and the ledger holds codes and pseudonyms only.
    """

    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("Privacy officer"),
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", verbose_name=_("Organisation")
    )
    staff = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="+", verbose_name=_("Staff member")
    )
    reason = models.CharField(_("Reason"), max_length=16, choices=RevealReason.choices)
    note = models.TextField(_("Explanation"), max_length=1000)
    revealed_at = models.DateTimeField(_("At"))

    class Meta:
        verbose_name = _("Identity reveal")
        verbose_name_plural = _("Identity reveals")
        indexes = [models.Index(fields=["officer", "revealed_at"])]

    def __str__(self) -> str:
        return f"reveal {self.pk}"
