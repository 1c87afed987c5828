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

from agencies.models import Organization, StaffMember


class IndexedEntry(models.Model):
    """One sequenced ledger entry, its fields as columns (codes and pseudonyms, as in the
    leaf), for filtering and counting. Written only by dashboard.indexer, in sequence order;
    rebuildable at any time from the ledger."""

    seq = models.BigIntegerField("連番 (Sequence number)", primary_key=True)
    intake_id = models.BigIntegerField("受付記録 (Intake id)", unique=True)
    event_type = models.CharField("種別 (Event type)", max_length=40)
    time = models.DateTimeField("日時 (Time)", db_index=True)
    subject = models.CharField("本人仮名 (Subject)", max_length=26, blank=True)
    requester = models.CharField("情報照会者 (Requester)", max_length=16, blank=True)
    provider = models.CharField("情報提供者 (Provider)", max_length=16, blank=True)
    institution = models.CharField("機関 (Institution)", max_length=16, blank=True)
    organization = models.CharField("団体 (Organisation)", max_length=6, blank=True)
    affair = models.CharField("事務 (Affair)", max_length=16, blank=True)
    from_affair = models.CharField("移転元の事務 (From affair)", max_length=16, blank=True)
    item = models.CharField("特定個人情報 (Item)", max_length=16, blank=True)
    staff = models.CharField("職員仮名 (Staff)", max_length=18, blank=True)
    actor = models.CharField("操作者 (Actor)", max_length=18, blank=True)
    case = models.CharField("案件 (Case)", max_length=40, blank=True)
    outcome = models.CharField("結果 (Outcome)", max_length=24, blank=True)
    reason = models.CharField("理由 (Reason)", max_length=48, blank=True)
    request_id = models.CharField("照会番号 (Request id)", max_length=36, blank=True)
    # None: the entry's type carries no 不開示 marker at all.
    nondisclosure = models.BooleanField("不開示 (Not disclosed)", null=True)

    class Meta:
        verbose_name = "索引 (Indexed entry)"
        verbose_name_plural = "索引 (Indexed entries)"
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
    organization = models.CharField("団体 (Organisation)", max_length=6)
    # No constraint in the database: rows are written in bulk beside their entries.
    entry = models.ForeignKey(
        IndexedEntry,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        # The primary key (organisation, seq) is the index every query uses.
        db_index=False,
        related_name="organizations",
        db_column="seq",
        verbose_name="連番 (Sequence number)",
    )

    class Meta:
        verbose_name = "索引の団体 (Entry organisation)"
        verbose_name_plural = "索引の団体 (Entry organisations)"

    def __str__(self) -> str:
        return f"{self.organization} {self.entry_id}"


class VerificationStatus(models.TextChoices):
    QUEUED = "queued", "待機中 (Queued)"
    RUNNING = "running", "検証中 (Running)"
    OK = "ok", "正常 (Verified)"
    FAILED = "failed", "改ざんを検出 (Damage found)"
    ERROR = "error", "検証できず (Could not run)"


class VerificationRun(models.Model):
    """一回の完全性検証: one run of audit.verification.verify_log over the whole log, from the
    dashboard's button (or a schedule): when, by whom, how long, and what it found."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="依頼者 (Requested by)",
    )
    requested_at = models.DateTimeField("依頼日時 (Requested at)")
    started_at = models.DateTimeField("開始日時 (Started at)", null=True, blank=True)
    finished_at = models.DateTimeField("終了日時 (Finished at)", null=True, blank=True)
    status = models.CharField(
        "結果 (Status)",
        max_length=8,
        choices=VerificationStatus.choices,
        default=VerificationStatus.QUEUED,
    )
    size = models.BigIntegerField("検証した記録数 (Entries verified)", null=True, blank=True)
    checkpoints_checked = models.IntegerField(
        "照合したチェックポイント (Checkpoints checked)", null=True, blank=True
    )
    damage_seq = models.BigIntegerField("最初の損傷 (First damaged entry)", null=True, blank=True)
    damage_kind = models.CharField("損傷の種類 (Kind of damage)", max_length=20, blank=True)
    detail = models.TextField("詳細 (Detail)", blank=True)

    class Meta:
        verbose_name = "完全性検証 (Verification run)"
        verbose_name_plural = "完全性検証 (Verification runs)"
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

    witness = models.CharField("証人 (Witness)", max_length=100)
    size = models.BigIntegerField("示されたサイズ (Size shown)", null=True, blank=True)
    reason = models.TextField("理由 (Reason)")
    occurred_at = models.DateTimeField("日時 (At)")

    class Meta:
        verbose_name = "証人の連署拒否 (Witness refusal)"
        verbose_name_plural = "証人の連署拒否 (Witness refusals)"
        indexes = [models.Index(fields=["witness", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.witness} refused at {self.occurred_at:%Y-%m-%d %H:%M}"


class RevealReason(models.TextChoices):
    ALERT = "alert", "アラートの調査 (Investigating an alert)"
    ENQUIRY = "enquiry", "住民からの問い合わせへの対応 (Answering a resident's enquiry)"
    COMPLAINT = "complaint", "苦情・通報への対応 (A complaint or a report)"
    DISCIPLINARY = "disciplinary", "懲戒・人事上の手続 (A disciplinary procedure)"
    LEGAL = "legal", "法令に基づく照会への対応 (A request under a law)"


class IdentityReveal(models.Model):
    """職員の特定: a privacy officer saw who a staff pseudonym of their organisation is.

    The reason is chosen from a list and goes to the ledger (audit.reveal); the free text
    stays here only, since it may name people, and the ledger holds codes and pseudonyms only.
    """

    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="個人情報保護担当 (Privacy officer)",
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", verbose_name="団体 (Organisation)"
    )
    staff = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, related_name="+", verbose_name="職員 (Staff member)"
    )
    reason = models.CharField("理由 (Reason)", max_length=16, choices=RevealReason.choices)
    note = models.TextField("説明 (Explanation)", max_length=1000)
    revealed_at = models.DateTimeField("日時 (At)")

    class Meta:
        verbose_name = "職員の特定 (Identity reveal)"
        verbose_name_plural = "職員の特定 (Identity reveals)"
        indexes = [models.Index(fields=["officer", "revealed_at"])]

    def __str__(self) -> str:
        return f"reveal {self.pk}"
