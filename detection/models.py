"""Detection's tables: what the scanner has read (its watermark and what it keeps of each
request), what auditors set (rule settings, the watchlist, who receives mails), and what it
found (alerts with their ledger entries and the auditors' notes).

Nothing here is the record of what happened: that is the ledger. Everything the scanner
writes is derived from ledger entries and written in the same transaction that advances the
watermark, so a scan's effect is all or nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from agencies.models import Department, Organization, Person, StaffMember
from detection.rules import Family, Severity


class ScanWatermark(models.Model):
    """走査位置: the last ledger sequence number the scanner has evaluated.

    One row per scanner (name). A scan locks the row (SELECT ... FOR UPDATE), reads the entries
    after it, writes what it found and moves it on, all in one transaction: a crash, a task
    delivered twice or a second scanner can neither skip nor repeat an entry.
    """

    name = models.CharField("名前 (Name)", max_length=40, unique=True)
    last_seq = models.BigIntegerField("最終連番 (Last sequence number)", default=-1)
    scanned_at = models.DateTimeField("走査日時 (Scanned at)", null=True, blank=True)
    entries = models.BigIntegerField("走査件数 (Entries scanned)", default=0)

    class Meta:
        verbose_name = "走査位置 (Scan watermark)"
        verbose_name_plural = "走査位置 (Scan watermarks)"

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seq}"


class SubjectIndex(models.Model):
    """本人仮名の索引: a ledger subject pseudonym and the person it stands for.

    The pseudonym is a keyed hash of the person's public id (audit.entries.subject_pseudonym)
    and cannot be inverted: this index, filled by the scanner for persons it has not indexed
    yet, is how a ledger entry is joined to the person's household and cases.
    """

    pseudonym = models.CharField("本人仮名 (Subject pseudonym)", max_length=26, primary_key=True)
    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, related_name="+", verbose_name="住民 (Person)"
    )

    class Meta:
        verbose_name = "本人仮名の索引 (Subject index)"
        verbose_name_plural = "本人仮名の索引 (Subject index)"

    def __str__(self) -> str:
        return self.pseudonym


class Access(models.Model):
    """照会の観測: what the scanner keeps of one request entry (linkage.request or
    internal.transfer) for the rules that look across entries (bursts, volume, terminals).

    Keyed by the entry's sequence number. Pseudonyms and ids only, as the entry has them.
    """

    seq = models.BigIntegerField("連番 (Sequence number)", primary_key=True)
    at = models.DateTimeField("日時 (At)")
    # No foreign-key constraint: checking one on each of the scanner's rows costs more than
    # it protects (staff members are never deleted, PROTECT elsewhere).
    staff = models.ForeignKey(
        StaffMember,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name="職員 (Staff)",
    )
    subject = models.CharField("本人仮名 (Subject)", max_length=26, blank=True)
    terminal = models.CharField("端末 (Terminal)", max_length=32, blank=True)
    # Explained by a batch query (一括照会): left out of the behaviour windows.
    batch = models.BooleanField("一括照会 (Batch)", default=False)
    explained = models.BooleanField("説明あり (Explained)", default=False)
    # About a person protected from disclosure (不開示): their findings go to national auditors.
    restricted = models.BooleanField("不開示 (Restricted)", default=False)

    class Meta:
        verbose_name = "照会の観測 (Access)"
        verbose_name_plural = "照会の観測 (Accesses)"
        # Every index is written on each request the scanner reads: only the one the window
        # rules read by (the requests of a time range). By time, rows arrive at the end of
        # the index, mostly; by subject or staff member they went anywhere in it.
        indexes = [models.Index(fields=["at"], name="detection_access_at")]

    def __str__(self) -> str:
        return f"access {self.seq}"


class StaffDay(models.Model):
    """職員別日次件数: a staff member's requests on one (Tokyo) day, outside batch queries: the
    volume rule's own history and its peers'."""

    staff = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    day = models.DateField("日 (Day)")
    count = models.IntegerField("件数 (Requests)", default=0)

    class Meta:
        verbose_name = "職員別日次件数 (Staff day)"
        verbose_name_plural = "職員別日次件数 (Staff days)"
        constraints = [
            models.UniqueConstraint(fields=["staff", "day"], name="detection_staffday_unique")
        ]
        indexes = [models.Index(fields=["department", "day"], name="detection_staffday_dept")]

    def __str__(self) -> str:
        return f"{self.staff_id} {self.day}: {self.count}"


class LedgerFact(models.Model):
    """台帳上の事実: an entry that changes what a later request is judged against (a batch
    query opened, a consent given or withdrawn, an assignment, an ordinance row, 不開示 set
    or lifted), kept by the scanner under a lookup key of its kind.

    The rules read these from the ledger's own contract (agencies.events), so that they work
    from the entries alone, whichever service wrote them.
    """

    seq = models.BigIntegerField("連番 (Sequence number)", primary_key=True)
    event_type = models.CharField("種別 (Event type)", max_length=40)
    key = models.CharField("検索キー (Key)", max_length=120)
    at = models.DateTimeField("日時 (At)")
    fields = models.JSONField("項目 (Fields)")

    class Meta:
        verbose_name = "台帳上の事実 (Ledger fact)"
        verbose_name_plural = "台帳上の事実 (Ledger facts)"
        indexes = [models.Index(fields=["key", "at"], name="detection_fact_key")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.key}"


class RuleSetting(models.Model):
    """規則設定: a rule switched on or off, and its thresholds, as auditors set them. A rule
    without a row runs with its defaults (detection.rules). Changed only through
    detection.services.rule_setting_change, which records each change in the ledger."""

    code = models.CharField("規則コード (Rule code)", max_length=40, unique=True)
    enabled = models.BooleanField("有効 (Enabled)", default=True)
    params = models.JSONField("閾値 (Thresholds)", default=dict, blank=True)
    changed_at = models.DateTimeField("変更日時 (Changed at)", null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="変更者 (Changed by)",
    )

    class Meta:
        verbose_name = "規則設定 (Rule setting)"
        verbose_name_plural = "規則設定 (Rule settings)"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class WatchReason(models.TextChoices):
    PUBLIC_FIGURE = "public_figure", "著名人 (Public figure)"
    REPORTED = "reported_risk", "通報あり (Reported risk)"
    STAFF_RELATED = "staff_related", "職員の関係者 (Related to staff)"
    OTHER = "other", "その他 (Other)"


class WatchlistEntry(models.Model):
    """監視対象者: a person whose every query the auditors want to see. The ledger records the
    person by subject pseudonym only (detection.watchlist_added / _removed)."""

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="住民 (Person)"
    )
    subject = models.CharField("本人仮名 (Subject pseudonym)", max_length=26, db_index=True)
    reason = models.CharField("理由 (Reason)", max_length=32, choices=WatchReason.choices)
    added_at = models.DateTimeField("登録日時 (Added at)")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name="登録者 (Added by)",
    )
    removed_at = models.DateTimeField("解除日時 (Removed at)", null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="解除者 (Removed by)",
    )

    class Meta:
        verbose_name = "監視対象者 (Watchlist entry)"
        verbose_name_plural = "監視対象者 (Watchlist)"
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(removed_at__isnull=True),
                name="detection_watch_once",
            )
        ]

    def __str__(self) -> str:
        return self.subject


class Language(models.TextChoices):
    JA = "ja", "日本語"
    EN = "en", "English"


class PrivacyOfficer(models.Model):
    """個人情報保護担当: a user who audits one organisation (or a few, one row each).

    The one list of privacy officers, for the two jobs it has: detection mails them the
    high-severity alerts and the daily digest of their organisation (detection.mail, to the
    user's e-mail address, in language), and the auditors' dashboard lets them read their
    organisation's alerts and entries, answer enquiries about them and reveal who one of its
    staff pseudonyms is, with a stated reason. Never told whether a subject is 不開示: those
    alerts go to the national auditors only (the auditors group, audit.selectors).
    Appointing and ending are ledger entries (dashboard.services.privacy_officer_appoint and
    privacy_officer_end, the admin's only way to change this table).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="privacy_officer_roles",
        verbose_name="ユーザー (User)",
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="privacy_officers",
        verbose_name="団体 (Organisation)",
    )
    language = models.CharField(
        "言語 (Language)", max_length=2, choices=Language.choices, default=Language.JA
    )
    appointed_at = models.DateTimeField("任命日時 (Appointed at)")
    ended_at = models.DateTimeField("終了日時 (Ended at)", null=True, blank=True)

    class Meta:
        verbose_name = "個人情報保護担当 (Privacy officer)"
        verbose_name_plural = "個人情報保護担当 (Privacy officers)"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"],
                condition=Q(ended_at__isnull=True),
                name="detection_one_live_officer_role",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization.code}"


class AlertStatus(models.TextChoices):
    NEW = "new", "新規 (New)"
    INVESTIGATING = "investigating", "調査中 (Investigating)"
    CONFIRMED = "confirmed", "不正と確認 (Confirmed)"
    DISMISSED = "dismissed", "対応不要 (Dismissed)"


class DismissReason(models.TextChoices):
    FALSE_POSITIVE = "false_positive", "誤検知 (False positive)"
    LEGITIMATE = "legitimate_business", "正当な業務 (Legitimate business)"
    DUPLICATE = "duplicate", "重複 (Duplicate)"
    OTHER = "other", "その他 (Other)"


class Alert(models.Model):
    """警報: one rule's findings about one staff member and/or subject on one (Tokyo) day.

    A burst of findings is one alert with all its entries (AlertEntry), found again by
    dedupe_key (rule, whom it is about, day, and whether it concerns 不開示 persons), which
    is unique: the scanner can never open the same alert twice.
    """

    rule = models.CharField("規則 (Rule)", max_length=40)
    family = models.CharField("種別 (Family)", max_length=12, choices=Family.choices)
    severity = models.CharField("重要度 (Severity)", max_length=8, choices=Severity.choices)
    status = models.CharField(
        "状態 (Status)", max_length=16, choices=AlertStatus.choices, default=AlertStatus.NEW
    )
    dismiss_reason = models.CharField(
        "対応不要の理由 (Dismissal reason)",
        max_length=32,
        choices=DismissReason.choices,
        blank=True,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="detection_alerts",
        verbose_name="担当者 (Assignee)",
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="照会した団体 (Requesting organisation)",
    )
    staff = models.ForeignKey(
        StaffMember,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="職員 (Staff)",
    )
    staff_pseudonym = models.CharField("職員仮名 (Staff pseudonym)", max_length=18, blank=True)
    subject = models.CharField("本人仮名 (Subject pseudonym)", max_length=26, blank=True)
    # About persons protected from disclosure: shown and mailed to national auditors only.
    restricted = models.BooleanField("不開示 (Restricted)", default=False)
    day = models.DateField("日 (Day, Tokyo)")
    dedupe_key = models.CharField("重複防止キー (Dedupe key)", max_length=120, unique=True)
    first_at = models.DateTimeField("最初の照会 (First entry at)")
    last_at = models.DateTimeField("最後の照会 (Last entry at)")
    entry_count = models.IntegerField("照会件数 (Entries)", default=0)
    created_at = models.DateTimeField("検知日時 (Detected at)")
    updated_at = models.DateTimeField("更新日時 (Updated at)")

    class Meta:
        verbose_name = "警報 (Alert)"
        verbose_name_plural = "警報 (Alerts)"
        ordering = ["-created_at"]
        permissions = [
            (
                "view_restricted_alert",
                "不開示対象者の警報を閲覧できる (Can view alerts about protected persons)",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="dismissed") | ~Q(dismiss_reason=""),
                name="detection_alert_dismissed_has_reason",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="detection_alert_org"),
            models.Index(fields=["status", "created_at"], name="detection_alert_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.rule}"

    def get_absolute_url(self) -> str:
        """The auditors' page of this alert (the dashboard's /audit/alerts/<id>/)."""
        return f"/audit/alerts/{self.pk}/"

    def get_admin_url(self) -> str:
        """The alert in the admin, until the dashboard's page exists."""
        return f"/admin/detection/alert/{self.pk}/change/"


class AlertEntry(models.Model):
    """An alert's ledger entry (by sequence number), linked once."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="entries")
    seq = models.BigIntegerField("連番 (Sequence number)")
    at = models.DateTimeField("日時 (At)")
    linked_at = models.DateTimeField("検知日時 (Linked at)")

    class Meta:
        verbose_name = "警報の記録 (Alert entry)"
        verbose_name_plural = "警報の記録 (Alert entries)"
        constraints = [
            models.UniqueConstraint(fields=["alert", "seq"], name="detection_alertentry_once")
        ]
        indexes = [models.Index(fields=["seq"], name="detection_alertentry_seq")]

    def __str__(self) -> str:
        return f"{self.alert_id}:{self.seq}"


class AlertNote(models.Model):
    """An auditor's note on an alert (free text: never copied to the ledger or a mail)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField("メモ (Note)")
    created_at = models.DateTimeField("記入日時 (Written at)")

    class Meta:
        verbose_name = "警報メモ (Alert note)"
        verbose_name_plural = "警報メモ (Alert notes)"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"note on {self.alert_id}"
