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
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from agencies.models import Department, Organization, Person, StaffMember
from detection.rules import Family, Severity


class ScanWatermark(models.Model):
    """走査位置: the last ledger sequence number the scanner has evaluated.

    One row per scanner (name). A scan locks the row (SELECT ... FOR UPDATE), reads the entries
    after it, writes what it found and moves it on, all in one transaction: a crash, a task
    delivered twice or a second scanner can neither skip nor repeat an entry.
    """

    name = models.CharField(_("Name"), max_length=40, unique=True)
    last_seq = models.BigIntegerField(_("Last sequence number"), default=-1)
    scanned_at = models.DateTimeField(_("Scanned at"), null=True, blank=True)
    entries = models.BigIntegerField(_("Entries scanned"), default=0)

    class Meta:
        verbose_name = _("Scan watermark")
        verbose_name_plural = _("Scan watermarks")

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seq}"


class SubjectIndex(models.Model):
    """本人仮名の索引: a ledger subject pseudonym and the person it stands for.

    The pseudonym is a keyed hash of the person's public id (audit.entries.subject_pseudonym)
    and cannot be inverted: this index, filled by the scanner for persons it has not indexed
    yet, is how a ledger entry is joined to the person's household and cases.
    """

    pseudonym = models.CharField(_("Subject pseudonym"), max_length=26, primary_key=True)
    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, related_name="+", verbose_name=_("Person")
    )

    class Meta:
        verbose_name = _("Subject index")
        verbose_name_plural = _("Subject index")

    def __str__(self) -> str:
        return self.pseudonym


class Access(models.Model):
    """照会の観測: what the scanner keeps of one request entry (linkage.request or
    internal.transfer) for the rules that look across entries (bursts, volume, terminals).

    Keyed by the entry's sequence number. Pseudonyms and ids only, as the entry has them.
    """

    seq = models.BigIntegerField(_("Sequence number"), primary_key=True)
    at = models.DateTimeField(_("At"))
    # No foreign-key constraint: checking one on each of the scanner's rows costs more than
    # it protects (staff members are never deleted, PROTECT elsewhere).
    staff = models.ForeignKey(
        StaffMember,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("Staff"),
    )
    subject = models.CharField(pgettext_lazy("detection", "Subject"), max_length=26, blank=True)
    terminal = models.CharField(_("Terminal"), max_length=32, blank=True)
    # Explained by a batch query (一括照会): left out of the behaviour windows.
    batch = models.BooleanField(_("Batch"), default=False)
    explained = models.BooleanField(_("Explained"), default=False)
    # About a person protected from disclosure (不開示): their findings go to national auditors.
    restricted = models.BooleanField(_("Restricted"), default=False)

    class Meta:
        verbose_name = _("Access")
        verbose_name_plural = _("Accesses")
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
    day = models.DateField(_("Day"))
    count = models.IntegerField(_("Requests"), default=0)

    class Meta:
        verbose_name = _("Staff day")
        verbose_name_plural = _("Staff days")
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

    seq = models.BigIntegerField(_("Sequence number"), primary_key=True)
    event_type = models.CharField(_("Event type"), max_length=40)
    key = models.CharField(_("Key"), max_length=120)
    at = models.DateTimeField(_("At"))
    fields = models.JSONField(_("Fields"))

    class Meta:
        verbose_name = _("Ledger fact")
        verbose_name_plural = _("Ledger facts")
        indexes = [models.Index(fields=["key", "at"], name="detection_fact_key")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.key}"


class RuleSetting(models.Model):
    """規則設定: a rule switched on or off, and its thresholds, as auditors set them. A rule
    without a row runs with its defaults (detection.rules). Changed only through
    detection.services.rule_setting_change, which records each change in the ledger."""

    code = models.CharField(_("Rule code"), max_length=40, unique=True)
    enabled = models.BooleanField(_("Enabled"), default=True)
    params = models.JSONField(_("Thresholds"), default=dict, blank=True)
    changed_at = models.DateTimeField(_("Changed at"), null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Changed by"),
    )

    class Meta:
        verbose_name = _("Rule setting")
        verbose_name_plural = _("Rule settings")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class WatchReason(models.TextChoices):
    PUBLIC_FIGURE = "public_figure", _("Public figure")
    REPORTED = "reported_risk", _("Reported risk")
    STAFF_RELATED = "staff_related", _("Related to staff")
    OTHER = "other", _("Other")


class WatchlistEntry(models.Model):
    """監視対象者: a person whose every query the auditors want to see. The ledger records the
    person by subject pseudonym only (detection.watchlist_added / _removed)."""

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("Person")
    )
    subject = models.CharField(_("Subject pseudonym"), max_length=26, db_index=True)
    reason = models.CharField(_("Reason"), max_length=32, choices=WatchReason.choices)
    added_at = models.DateTimeField(_("Added at"))
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("Added by"),
    )
    removed_at = models.DateTimeField(_("Removed at"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Removed by"),
    )

    class Meta:
        verbose_name = _("Watchlist entry")
        verbose_name_plural = _("Watchlist")
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
        verbose_name=_("User"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="privacy_officers",
        verbose_name=_("Organisation"),
    )
    language = models.CharField(
        _("Language"), max_length=2, choices=Language.choices, default=Language.JA
    )
    appointed_at = models.DateTimeField(_("Appointed at"))
    ended_at = models.DateTimeField(_("Ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Privacy officer")
        verbose_name_plural = _("Privacy officers")
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
    NEW = "new", _("New")
    INVESTIGATING = "investigating", _("Investigating")
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")


class DismissReason(models.TextChoices):
    FALSE_POSITIVE = "false_positive", _("False positive")
    LEGITIMATE = "legitimate_business", _("Legitimate business")
    DUPLICATE = "duplicate", _("Duplicate")
    OTHER = "other", _("Other")


class Alert(models.Model):
    """警報: one rule's findings about one staff member and/or subject on one (Tokyo) day.

    A burst of findings is one alert with all its entries (AlertEntry), found again by
    dedupe_key (rule, whom it is about, day, and whether it concerns 不開示 persons), which
    is unique: the scanner can never open the same alert twice.
    """

    rule = models.CharField(_("Rule"), max_length=40)
    family = models.CharField(_("Family"), max_length=12, choices=Family.choices)
    severity = models.CharField(_("Severity"), max_length=8, choices=Severity.choices)
    status = models.CharField(
        _("Status"), max_length=16, choices=AlertStatus.choices, default=AlertStatus.NEW
    )
    dismiss_reason = models.CharField(
        _("Dismissal reason"),
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
        verbose_name=_("Assignee"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Requesting organisation"),
    )
    staff = models.ForeignKey(
        StaffMember,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Staff"),
    )
    staff_pseudonym = models.CharField(_("Staff pseudonym"), max_length=18, blank=True)
    subject = models.CharField(_("Subject pseudonym"), max_length=26, blank=True)
    # About persons protected from disclosure: shown and mailed to national auditors only.
    restricted = models.BooleanField(_("Restricted"), default=False)
    day = models.DateField(_("Day, Tokyo"))
    dedupe_key = models.CharField(_("Dedupe key"), max_length=120, unique=True)
    first_at = models.DateTimeField(_("First entry at"))
    last_at = models.DateTimeField(_("Last entry at"))
    entry_count = models.IntegerField(pgettext_lazy("detection", "Entries"), default=0)
    created_at = models.DateTimeField(_("Detected at"))
    updated_at = models.DateTimeField(_("Updated at"))

    class Meta:
        verbose_name = _("Alert")
        verbose_name_plural = _("Alerts")
        ordering = ["-created_at"]
        permissions = [
            (
                "view_restricted_alert",
                _("Can view alerts about protected persons"),
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="dismissed") | ~Q(dismiss_reason=""),
                name="detection_alert_dismissed_has_reason",
            )
        ]
        # The dashboard's queue lists alerts newest first, filtered by any of these.
        indexes = [
            models.Index(fields=["organization", "created_at"], name="detection_alert_org"),
            models.Index(fields=["status", "created_at"], name="detection_alert_status"),
            models.Index(fields=["created_at"], name="detection_alert_created"),
            models.Index(fields=["rule", "created_at"], name="detection_alert_rule"),
            models.Index(fields=["severity", "created_at"], name="detection_alert_severity"),
            models.Index(fields=["day"], name="detection_alert_day"),
            models.Index(
                fields=["staff_pseudonym", "created_at"],
                name="detection_alert_staff",
                condition=~Q(staff_pseudonym=""),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.rule}"

    def get_absolute_url(self) -> str:
        """The auditors' page of this alert (the dashboard's /audit/alerts/<id>/)."""
        return f"/audit/alerts/{self.pk}/"


class AlertEntry(models.Model):
    """An alert's ledger entry (by sequence number), linked once."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="entries")
    seq = models.BigIntegerField(_("Sequence number"))
    at = models.DateTimeField(_("At"))
    linked_at = models.DateTimeField(_("Linked at"))

    class Meta:
        verbose_name = _("Alert entry")
        verbose_name_plural = _("Alert entries")
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
    text = models.TextField(_("Note"))
    created_at = models.DateTimeField(_("Written at"))

    class Meta:
        verbose_name = _("Alert note")
        verbose_name_plural = _("Alert notes")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"note on {self.alert_id}"
