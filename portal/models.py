"""The resident portal's tables: mock My Number Cards, proxies, enquiries and notices.

Residents are not Django users: a resident is an agencies.Person holding a Card, and a portal
session names the card (portal.auth). Nothing here holds a My Number.
"""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.db.models import Q

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
        Person, on_delete=models.PROTECT, related_name="portal_cards", verbose_name="住民 (Person)"
    )
    serial = models.CharField("カード番号 (Card serial)", max_length=12, unique=True)
    audit_pseudonym = models.CharField(
        "監査用仮名 (Audit pseudonym)", max_length=18, unique=True, default=new_card_pseudonym
    )
    pin_hash = models.CharField("暗証番号ハッシュ (PIN hash)", max_length=200)
    failed_attempts = models.PositiveSmallIntegerField(
        "連続誤り回数 (Wrong PINs in a row)", default=0
    )
    locked_at = models.DateTimeField("ロック日時 (Locked at)", null=True, blank=True)
    issued_at = models.DateTimeField("交付日時 (Issued at)")
    issued_by = models.ForeignKey(
        StaffMember,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="交付した職員 (Issued by)",
    )
    revoked_at = models.DateTimeField("失効日時 (Revoked at)", null=True, blank=True)

    class Meta:
        verbose_name = "カード (Card)"
        verbose_name_plural = "カード (Cards)"
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
    PENDING = "pending", "承諾待ち (Waiting for acceptance)"
    ACTIVE = "active", "有効 (Active)"
    ENDED = "ended", "終了 (Ended)"


class ProxyMandate(models.Model):
    """代理人の登録: the principal (本人) names another resident with a card as proxy (代理人);
    it takes effect when the proxy enters the one-time code the principal was given. Either
    can end it. A principal protected from disclosure (DV 支援措置) can have no proxy."""

    public_id = models.UUIDField("公開ID (Public id)", default=uuid.uuid4, unique=True)
    principal = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="本人 (Principal)"
    )
    proxy = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="代理人 (Proxy)"
    )
    status = models.CharField(
        "状態 (Status)", max_length=8, choices=MandateStatus.choices, default=MandateStatus.PENDING
    )
    code_hash = models.CharField("確認コードのハッシュ (Code hash)", max_length=200)
    code_expires_at = models.DateTimeField("確認コードの期限 (Code expires)")
    created_at = models.DateTimeField("登録日時 (Named at)")
    accepted_at = models.DateTimeField("承諾日時 (Accepted at)", null=True, blank=True)
    ended_at = models.DateTimeField("終了日時 (Ended at)", null=True, blank=True)
    ended_by = models.CharField("終了した者 (Ended by)", max_length=10, blank=True)

    class Meta:
        verbose_name = "代理人 (Proxy mandate)"
        verbose_name_plural = "代理人 (Proxy mandates)"
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
    OPEN = "open", "受付済み (Received)"
    ANSWERED = "answered", "回答済み (Answered)"
    CLOSED = "closed", "終了 (Closed)"


class Enquiry(models.Model):
    """問い合わせ: a resident's question about one record, for the auditors (監査担当).

    The auditors' dashboard answers it (portal.services.enquiry_answer: status answered, the
    resident is notified) and closes it (enquiry_close: no further answer is expected, with or
    without one); both are ledger entries about the resident."""

    public_id = models.UUIDField("公開ID (Public id)", default=uuid.uuid4, unique=True)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="本人 (Resident)"
    )
    opened_by_proxy = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="代理人 (Opened by proxy)",
    )
    intake_id = models.BigIntegerField("記録 (Ledger intake id)")
    question = models.TextField("問い合わせ内容 (Question)", max_length=2000)
    status = models.CharField(
        "状態 (Status)", max_length=8, choices=EnquiryStatus.choices, default=EnquiryStatus.OPEN
    )
    answer = models.TextField("回答 (Answer)", blank=True)
    created_at = models.DateTimeField("受付日時 (Opened at)")
    answered_at = models.DateTimeField("回答日時 (Answered at)", null=True, blank=True)
    closed_at = models.DateTimeField("終了日時 (Closed at)", null=True, blank=True)

    class Meta:
        verbose_name = "問い合わせ (Enquiry)"
        verbose_name_plural = "問い合わせ (Enquiries)"
        indexes = [
            models.Index(fields=["person", "created_at"]),
            # The auditors' queue: by status, oldest first.
            models.Index(fields=["status", "created_at"], name="portal_enquiry_queue"),
        ]

    def __str__(self) -> str:
        return f"enquiry {self.public_id} {self.status}"


class NoticeKind(models.TextChoices):
    PROXY_NAMED = "proxy_named", "代理人を登録しました (You named a proxy)"
    PROXY_ACCEPTED = "proxy_accepted", "代理人が承諾しました (Your proxy accepted)"
    PROXY_ENDED = "proxy_ended", "代理人の登録が終了しました (A proxy mandate ended)"
    ENQUIRY_OPENED = "enquiry_opened", "問い合わせを受け付けました (Enquiry received)"
    ENQUIRY_ANSWERED = "enquiry_answered", "問い合わせに回答がありました (Enquiry answered)"


class Notice(models.Model):
    """お知らせ: a message to a resident shown in the portal (no names or numbers in it)."""

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="本人 (Resident)"
    )
    kind = models.CharField("種別 (Kind)", max_length=20, choices=NoticeKind.choices)
    created_at = models.DateTimeField("日時 (Created at)")

    class Meta:
        verbose_name = "お知らせ (Notice)"
        verbose_name_plural = "お知らせ (Notices)"
        indexes = [models.Index(fields=["person", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind}"


class MailSubscription(models.Model):
    """お知らせメール: an e-mail address a resident registered and confirmed by a link; with
    it, at most one mail an hour says that a new record about them exists."""

    person = models.OneToOneField(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="本人 (Resident)"
    )
    email = models.EmailField("メールアドレス (E-mail)")
    token_hash = models.CharField("確認トークンのハッシュ (Token hash)", max_length=64, blank=True)
    token_expires_at = models.DateTimeField("確認期限 (Confirm by)", null=True, blank=True)
    confirmed_at = models.DateTimeField("確認日時 (Confirmed at)", null=True, blank=True)
    new_records = models.BooleanField("新しい記録の通知 (Mail on new records)", default=False)
    last_seen_intake_id = models.BigIntegerField("通知済みの最後の記録 (Last notified)", default=0)
    last_mailed_at = models.DateTimeField("最終送信 (Last mailed)", null=True, blank=True)

    class Meta:
        verbose_name = "お知らせメール (Mail subscription)"
        verbose_name_plural = "お知らせメール (Mail subscriptions)"

    def __str__(self) -> str:
        return f"subscription {self.pk}"
