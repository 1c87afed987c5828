"""The resident portal's tables: mock My Number Cards, proxies, enquiries and notices.

Residents are not Django users: a resident is an agencies.Person holding a Card, and a portal
session names the card (portal.auth). Nothing here holds a My Number.
"""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from agencies.models import Person, StaffMember

# The serial's alphabet: RFC 4648 base32, no 0/1/8/9, so that a serial never holds a run of
# digits that could be mistaken for a My Number, and O/0 or I/1 cannot be confused.
SERIAL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
SERIAL_LENGTH = 10


def new_card_serial() -> str:
    """A fresh card serial: "YC" + 10 base32 characters (shown as YC-XXXXX-XXXXX)."""
    return "YC" + "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(SERIAL_LENGTH))


def new_card_pseudonym() -> str:
    """The card's name in the ledger: "CD" + 16 hex digits, unrelated to its serial."""
    return "CD" + secrets.token_hex(8).upper()


class Card(models.Model):
    """マイナンバーカード (mock): a card serial and a 4-digit PIN (利用者証明用の暗証番号).

    The PIN is stored only as a Django password hash. Three wrong PINs in a row lock the card
    (locked_at) until a counter clerk resets the PIN. Reissuing a card revokes the old one;
    a person holds at most one card that is not revoked.
    """

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="portal_cards", verbose_name=_("Person")
    )
    serial = models.CharField(_("Card serial"), max_length=12, unique=True)
    audit_pseudonym = models.CharField(
        _("Audit pseudonym"), max_length=18, unique=True, default=new_card_pseudonym
    )
    pin_hash = models.CharField(_("PIN hash"), max_length=200)
    failed_attempts = models.PositiveSmallIntegerField(_("Wrong PINs in a row"), default=0)
    locked_at = models.DateTimeField(_("Locked at"), null=True, blank=True)
    issued_at = models.DateTimeField(_("Handed over at"))
    issued_by = models.ForeignKey(
        StaffMember,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Issued by"),
    )
    revoked_at = models.DateTimeField(_("Revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Card")
        verbose_name_plural = _("Cards")
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(revoked_at__isnull=True), name="portal_one_live_card"
            )
        ]
        permissions = [("counter_clerk", "窓口でカードを交付・再交付し暗証番号を初期化できる")]

    def __str__(self) -> str:
        return f"{display_serial(self.serial)}"

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


def display_serial(serial: str) -> str:
    """YCABCDE23456 -> YC-ABCDE-23456."""
    return f"{serial[:2]}-{serial[2:7]}-{serial[7:]}"


class MandateStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for acceptance")
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")


class ProxyMandate(models.Model):
    """代理人の登録: the principal (本人) names another resident with a card as proxy (代理人);
    it takes effect when the proxy enters the one-time code the principal was given. Either
    can end it. A principal protected from disclosure (DV 支援措置) can have no proxy."""

    public_id = models.UUIDField(_("Public id"), default=uuid.uuid4, unique=True)
    principal = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("Principal")
    )
    proxy = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("Proxy")
    )
    status = models.CharField(
        _("Status"), max_length=8, choices=MandateStatus.choices, default=MandateStatus.PENDING
    )
    code_hash = models.CharField(_("Code hash"), max_length=200)
    code_expires_at = models.DateTimeField(_("Code expires"))
    created_at = models.DateTimeField(_("Named at"))
    accepted_at = models.DateTimeField(_("Accepted at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("Ended at"), null=True, blank=True)
    ended_by = models.CharField(_("Ended by"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("Proxy mandate")
        verbose_name_plural = _("Proxy mandates")
        constraints = [
            models.UniqueConstraint(
                fields=["principal", "proxy"],
                condition=~Q(status="ended"),
                name="portal_one_open_mandate",
            ),
            models.CheckConstraint(
                condition=~Q(principal=models.F("proxy")), name="portal_no_self_proxy"
            ),
        ]

    def __str__(self) -> str:
        return f"mandate {self.public_id} {self.status}"


class EnquiryStatus(models.TextChoices):
    OPEN = "open", _("Received")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", pgettext_lazy("enquiry", "Closed")


class Enquiry(models.Model):
    """問い合わせ: a resident's question about one record, for the auditors (監査担当).

    The auditors' dashboard answers it (portal.services.enquiry_answer: status answered, the
    resident is notified) and closes it (enquiry_close: no further answer is expected, with or
    without one); both are ledger entries about the resident."""

    public_id = models.UUIDField(_("Public id"), default=uuid.uuid4, unique=True)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("Resident")
    )
    opened_by_proxy = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Opened by proxy"),
    )
    intake_id = models.BigIntegerField(_("Ledger intake id"))
    question = models.TextField(_("Question"), max_length=2000)
    status = models.CharField(
        _("Status"), max_length=8, choices=EnquiryStatus.choices, default=EnquiryStatus.OPEN
    )
    answer = models.TextField(_("Answer"), blank=True)
    created_at = models.DateTimeField(_("Opened at"))
    answered_at = models.DateTimeField(_("Answered at"), null=True, blank=True)
    closed_at = models.DateTimeField(pgettext_lazy("enquiry", "Closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Enquiry")
        verbose_name_plural = _("Enquiries")
        indexes = [
            models.Index(fields=["person", "created_at"]),
            # The auditors' queue: by status, oldest first.
            models.Index(fields=["status", "created_at"], name="portal_enquiry_queue"),
        ]

    def __str__(self) -> str:
        return f"enquiry {self.public_id} {self.status}"


class NoticeKind(models.TextChoices):
    PROXY_NAMED = "proxy_named", _("You named a proxy")
    PROXY_ACCEPTED = "proxy_accepted", _("Your proxy accepted")
    PROXY_ENDED = "proxy_ended", _("A proxy mandate ended")
    ENQUIRY_OPENED = "enquiry_opened", _("Enquiry received")
    ENQUIRY_ANSWERED = "enquiry_answered", _("Enquiry answered")


class Notice(models.Model):
    """お知らせ: a message to a resident shown in the portal (no names or numbers in it)."""

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("Resident")
    )
    kind = models.CharField(_("Kind"), max_length=20, choices=NoticeKind.choices)
    created_at = models.DateTimeField(_("Created at"))

    class Meta:
        verbose_name = _("Notice")
        verbose_name_plural = _("Notices")
        indexes = [models.Index(fields=["person", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind}"


class MailSubscription(models.Model):
    """お知らせメール: an e-mail address a resident registered and confirmed by a link; with
    it, at most one mail an hour says that a new record about them exists."""

    person = models.OneToOneField(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("Resident")
    )
    email = models.EmailField(_("E-mail"))
    token_hash = models.CharField(_("Token hash"), max_length=64, blank=True)
    token_expires_at = models.DateTimeField(_("Confirm by"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("Confirmed at"), null=True, blank=True)
    new_records = models.BooleanField(_("Mail on new records"), default=False)
    last_seen_intake_id = models.BigIntegerField(_("Last notified"), default=0)
    last_mailed_at = models.DateTimeField(_("Last mailed"), null=True, blank=True)

    class Meta:
        verbose_name = _("Mail subscription")
        verbose_name_plural = _("Mail subscriptions")

    def __str__(self) -> str:
        return f"subscription {self.pk}"
