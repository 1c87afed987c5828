"""Write services of the portal. Each is keyword-only, runs in one transaction and writes its
ledger entry inside it (portal.events); views and tasks call these and hold no rules.

The card: issued, reissued and its PIN reset only by a counter clerk (窓口, permission
portal.counter_clerk); three wrong PINs in a row lock it (ledger: card.lock) until a reset.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import unicodedata
import uuid
from dataclasses import dataclass

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from agencies.models import Person, StaffMember
from audit.entries import subject_pseudonym
from audit.ledger import ledger_append
from portal import events
from portal.models import (
    Card,
    Enquiry,
    EnquiryStatus,
    MandateStatus,
    Notice,
    NoticeKind,
    ProxyMandate,
    new_card_serial,
)

MAX_WRONG_PINS = 3
MANDATE_CODE_DAYS = 7
# Checked against when no card matches, so that an unknown serial takes as long as a known one.
_DUMMY_PIN_HASH = make_password("0000")


class PortalError(Exception):
    """A portal action refused; the message is for the person (Japanese and English)."""


class NotCounterClerk(PortalError):
    """Only counter clerks (permission portal.counter_clerk) handle cards."""


def pseudonym(person: Person) -> str:
    """The person's ledger pseudonym (SJ...)."""
    return subject_pseudonym(str(person.public_id))


def normalize_serial(text: str) -> str:
    """A typed card serial in its stored form: NFKC (full-width letters work), upper case,
    without hyphens or spaces."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in folded if ch.isalnum())


def valid_pin(pin: str) -> bool:
    """Four ASCII digits (after NFKC, so full-width digits work)."""
    pin = unicodedata.normalize("NFKC", pin)
    return len(pin) == 4 and pin.isascii() and pin.isdigit()


def new_pin() -> str:
    """A random 4-digit PIN for a new card (the resident may be given it at the counter)."""
    return f"{secrets.randbelow(10_000):04d}"


def _require_counter_clerk(staff: StaffMember) -> None:
    if not staff.user.has_perm("portal.counter_clerk"):
        raise NotCounterClerk(
            "カードの交付・再交付・暗証番号の初期化は窓口担当のみが行えます。 "
            "(Only counter clerks issue cards and reset PINs.)"
        )


# --- cards ---------------------------------------------------------------------------------------


@transaction.atomic
def card_issue(
    *, staff: StaffMember, person: Person, pin: str, now: dt.datetime | None = None
) -> Card:
    """交付: issue a card to a person who has none (reissue replaces a card). Ledger: card.issue."""
    _require_counter_clerk(staff)
    if not valid_pin(pin):
        raise PortalError("暗証番号は数字4桁です。 (The PIN is four digits.)")
    if Card.objects.select_for_update().filter(person=person, revoked_at__isnull=True).exists():
        raise PortalError(
            "この住民には有効なカードがあります。再交付してください。 "
            "(This resident already has a card: reissue it instead.)"
        )
    moment = now or timezone.now()
    card = Card.objects.create(
        person=person,
        serial=new_card_serial(),
        pin_hash=make_password(unicodedata.normalize("NFKC", pin)),
        issued_at=moment,
        issued_by=staff,
    )
    ledger_append(
        event_type=events.CARD_ISSUE,
        fields={"card": card.audit_pseudonym, "actor": staff.audit_pseudonym},
        subject=pseudonym(person),
        moment=moment,
    )
    return card


@transaction.atomic
def card_reissue(
    *, staff: StaffMember, person: Person, pin: str, now: dt.datetime | None = None
) -> Card:
    """再交付: revoke the person's card (lost, broken, expired) and issue a new one with a new
    serial. Ledger: card.reissue, naming both cards."""
    _require_counter_clerk(staff)
    if not valid_pin(pin):
        raise PortalError("暗証番号は数字4桁です。 (The PIN is four digits.)")
    previous = (
        Card.objects.select_for_update().filter(person=person, revoked_at__isnull=True).first()
    )
    if previous is None:
        raise PortalError("有効なカードがありません。 (This resident has no card to replace.)")
    moment = now or timezone.now()
    previous.revoked_at = moment
    previous.save(update_fields=["revoked_at"])
    card = Card.objects.create(
        person=person,
        serial=new_card_serial(),
        pin_hash=make_password(unicodedata.normalize("NFKC", pin)),
        issued_at=moment,
        issued_by=staff,
    )
    ledger_append(
        event_type=events.CARD_REISSUE,
        fields={
            "card": card.audit_pseudonym,
            "previous_card": previous.audit_pseudonym,
            "actor": staff.audit_pseudonym,
        },
        subject=pseudonym(person),
        moment=moment,
    )
    return card


@transaction.atomic
def card_pin_reset(
    *, staff: StaffMember, card: Card, pin: str, now: dt.datetime | None = None
) -> Card:
    """暗証番号の初期化: set a new PIN, which unlocks a locked card. Ledger: card.reset."""
    _require_counter_clerk(staff)
    if not valid_pin(pin):
        raise PortalError("暗証番号は数字4桁です。 (The PIN is four digits.)")
    card = Card.objects.select_for_update().get(pk=card.pk)
    if card.revoked_at is not None:
        raise PortalError("このカードは失効しています。 (This card was revoked.)")
    moment = now or timezone.now()
    card.pin_hash = make_password(unicodedata.normalize("NFKC", pin))
    card.failed_attempts = 0
    card.locked_at = None
    card.save(update_fields=["pin_hash", "failed_attempts", "locked_at"])
    ledger_append(
        event_type=events.CARD_RESET,
        fields={"card": card.audit_pseudonym, "actor": staff.audit_pseudonym},
        subject=pseudonym(card.person),
        moment=moment,
    )
    return card


class LoginRefused(Exception):
    """The card and PIN did not log in. reason: "bad_credentials" (unknown serial or wrong
    PIN, not told apart), "locked" (the card is locked, now or before)."""

    def __init__(self, reason: str, *, locked_now: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.locked_now = locked_now


def card_login_check(*, serial: str, pin: str, now: dt.datetime | None = None) -> Card:
    """The card for this serial and PIN, or LoginRefused.

    A wrong PIN counts against the card; the third in a row locks it (ledger: card.lock) and
    a locked card is refused without looking at the PIN. A right PIN clears the count. The
    count is committed even though the login is refused.
    """
    refused: LoginRefused | None = None
    with transaction.atomic():
        card = (
            Card.objects.select_for_update()
            .select_related("person")
            .filter(serial=normalize_serial(serial), revoked_at__isnull=True)
            .first()
        )
        typed = unicodedata.normalize("NFKC", pin)
        if card is None:
            check_password(typed, _DUMMY_PIN_HASH)
            raise LoginRefused("bad_credentials")
        if card.locked_at is not None:
            raise LoginRefused("locked")
        if valid_pin(typed) and check_password(typed, card.pin_hash):
            if card.failed_attempts:
                card.failed_attempts = 0
                card.save(update_fields=["failed_attempts"])
            return card
        card.failed_attempts += 1
        if card.failed_attempts >= MAX_WRONG_PINS:
            moment = now or timezone.now()
            card.locked_at = moment
            ledger_append(
                event_type=events.CARD_LOCK,
                fields={"card": card.audit_pseudonym, "reason": "wrong_pin"},
                subject=pseudonym(card.person),
                moment=moment,
            )
            refused = LoginRefused("locked", locked_now=True)
        else:
            refused = LoginRefused("bad_credentials")
        card.save(update_fields=["failed_attempts", "locked_at"])
    raise refused


def card_session_hash(card: Card) -> str:
    """What a portal session remembers of its card besides the id: it changes when the PIN is
    reset or the card revoked or locked, which ends every session of the card."""
    state = f"{card.pk}|{card.pin_hash}|{card.revoked_at}|{card.locked_at}"
    return hashlib.sha256(state.encode()).hexdigest()


# --- notices -------------------------------------------------------------------------------------


def notice_add(*, person: Person, kind: NoticeKind, now: dt.datetime | None = None) -> Notice:
    """An お知らせ for the person in the portal, and the same news by mail if they confirmed an
    address (portal.notices); in the caller's transaction."""
    from portal.notices import notice_mail

    notice = Notice.objects.create(person=person, kind=kind, created_at=now or timezone.now())
    notice_mail(notice=notice)
    return notice


# --- proxies (代理人) ---------------------------------------------------------------------


def _code_hash(code: str) -> str:
    return make_password(code)


@dataclass(frozen=True)
class NamedProxy:
    """A new mandate and its one-time code (shown once to the principal, stored hashed)."""

    mandate: ProxyMandate
    code: str


@transaction.atomic
def proxy_name(
    *, principal: Person, proxy_card_serial: str, now: dt.datetime | None = None
) -> NamedProxy:
    """代理人の登録: the principal names the holder of another card as proxy. The proxy must
    accept with the one-time code (valid MANDATE_CODE_DAYS days) that this returns. A person
    protected from disclosure (DV 支援措置) can have no proxy. Ledger: proxy.name."""
    principal = Person.objects.select_for_update().get(pk=principal.pk)
    if principal.disclosure_protected:
        raise PortalError(
            "この方は代理人を登録できません。窓口にご相談ください。 "
            "(A proxy cannot be named for this person; please ask at the counter.)"
        )
    card = (
        Card.objects.select_related("person")
        .filter(serial=normalize_serial(proxy_card_serial), revoked_at__isnull=True)
        .first()
    )
    if card is None or card.person_id == principal.pk:
        raise PortalError(
            "そのカード番号の方を代理人にできません。 (No proxy can be named with that card.)"
        )
    if (
        ProxyMandate.objects.filter(principal=principal, proxy=card.person)
        .exclude(status=MandateStatus.ENDED)
        .exists()
    ):
        raise PortalError("この方は既に代理人です。 (This person is already your proxy.)")
    moment = now or timezone.now()
    code = f"{secrets.randbelow(10**8):08d}"
    mandate = ProxyMandate.objects.create(
        principal=principal,
        proxy=card.person,
        code_hash=_code_hash(code),
        code_expires_at=moment + dt.timedelta(days=MANDATE_CODE_DAYS),
        created_at=moment,
    )
    ledger_append(
        event_type=events.PROXY_NAME,
        fields={"mandate": str(mandate.public_id), "agent": pseudonym(card.person)},
        subject=pseudonym(principal),
        moment=moment,
    )
    notice_add(person=principal, kind=NoticeKind.PROXY_NAMED, now=moment)
    return NamedProxy(mandate, code)


@transaction.atomic
def proxy_accept(*, proxy: Person, code: str, now: dt.datetime | None = None) -> ProxyMandate:
    """代理人の承諾: the proxy enters the one-time code; the pending mandate naming them with
    that code becomes active. Ledger: proxy.accept; the principal is notified."""
    moment = now or timezone.now()
    typed = unicodedata.normalize("NFKC", code).strip()
    for mandate in ProxyMandate.objects.select_for_update().filter(
        proxy=proxy, status=MandateStatus.PENDING, code_expires_at__gt=moment
    ):
        if check_password(typed, mandate.code_hash):
            if mandate.principal.disclosure_protected:
                break
            mandate.status = MandateStatus.ACTIVE
            mandate.accepted_at = moment
            mandate.code_hash = ""  # used once
            mandate.save(update_fields=["status", "accepted_at", "code_hash"])
            ledger_append(
                event_type=events.PROXY_ACCEPT,
                fields={"mandate": str(mandate.public_id), "agent": pseudonym(proxy)},
                subject=pseudonym(mandate.principal),
                moment=moment,
            )
            notice_add(person=mandate.principal, kind=NoticeKind.PROXY_ACCEPTED, now=moment)
            return mandate
    raise PortalError(
        "確認コードが正しくないか、期限が切れています。 (The code is wrong or has expired.)"
    )


@transaction.atomic
def proxy_end(
    *, person: Person, mandate_id: uuid.UUID | str, now: dt.datetime | None = None
) -> ProxyMandate:
    """代理人の終了: the principal or the proxy ends a mandate (pending or active). Ledger:
    proxy.end with who ended it; the principal is notified."""
    mandate = (
        ProxyMandate.objects.select_for_update()
        .filter(public_id=mandate_id)
        .exclude(status=MandateStatus.ENDED)
        .first()
    )
    if mandate is None or person.pk not in (mandate.principal_id, mandate.proxy_id):
        raise PortalError("該当する代理人の登録がありません。 (No such proxy mandate.)")
    moment = now or timezone.now()
    by = "principal" if person.pk == mandate.principal_id else "proxy"
    mandate.status = MandateStatus.ENDED
    mandate.ended_at = moment
    mandate.ended_by = by
    mandate.code_hash = ""
    mandate.save(update_fields=["status", "ended_at", "ended_by", "code_hash"])
    ledger_append(
        event_type=events.PROXY_END,
        fields={"mandate": str(mandate.public_id), "agent": pseudonym(mandate.proxy), "by": by},
        subject=pseudonym(mandate.principal),
        moment=moment,
    )
    notice_add(person=mandate.principal, kind=NoticeKind.PROXY_ENDED, now=moment)
    return mandate


def proxy_view_record(*, mandate: ProxyMandate, view: str, intake_id: int | None = None) -> None:
    """Record that the proxy viewed the principal's records (ledger: proxy.view, subject the
    principal, so it appears in the principal's own list). In its own transaction."""
    fields: dict[str, object] = {
        "mandate": str(mandate.public_id),
        "agent": pseudonym(mandate.proxy),
        "view": view,
    }
    if intake_id is not None:
        fields["record"] = str(intake_id)
    with transaction.atomic():
        ledger_append(
            event_type=events.PROXY_VIEW, fields=fields, subject=pseudonym(mandate.principal)
        )


# --- enquiries (問い合わせ) ---------------------------------------------------------------


@transaction.atomic
def enquiry_open(
    *,
    person: Person,
    intake_id: int,
    question: str,
    proxy: Person | None = None,
    now: dt.datetime | None = None,
) -> Enquiry:
    """この記録について問い合わせる: open an enquiry about one of the person's disclosed records
    for the auditors. The caller has checked that the record is the person's and disclosed
    (portal.selectors.record_of). Ledger: enquiry.open."""
    question = question.strip()
    if not question or len(question) > 2000:
        raise PortalError(
            "問い合わせ内容を2000字以内で入力してください。 "
            "(Write your question, up to 2000 characters.)"
        )
    moment = now or timezone.now()
    enquiry = Enquiry.objects.create(
        person=person,
        opened_by_proxy=proxy,
        intake_id=intake_id,
        question=question,
        created_at=moment,
    )
    fields: dict[str, object] = {"enquiry": str(enquiry.public_id), "record": str(intake_id)}
    if proxy is not None:
        fields["agent"] = pseudonym(proxy)
    ledger_append(
        event_type=events.ENQUIRY_OPEN, fields=fields, subject=pseudonym(person), moment=moment
    )
    notice_add(person=person, kind=NoticeKind.ENQUIRY_OPENED, now=moment)
    return enquiry


MAX_ANSWER_LENGTH = 4000


def _enquiry_locked(enquiry_id: uuid.UUID | str) -> Enquiry:
    enquiry = (
        Enquiry.objects.select_for_update().select_related("person").filter(public_id=enquiry_id)
    ).first()
    if enquiry is None:
        raise PortalError("該当する問い合わせがありません。 (No such enquiry.)")
    return enquiry


@transaction.atomic
def enquiry_answer(
    *, enquiry_id: uuid.UUID | str, answer: str, actor: str, now: dt.datetime | None = None
) -> Enquiry:
    """Answer an open enquiry: the resident sees the answer on the record and under 問い合わせ,
    and gets a notice (and a mail if registered). One answer per enquiry; a closed or already
    answered enquiry is refused. actor is the auditor's ledger pseudonym; the caller (the
    auditors' dashboard) has checked that they may answer it. Ledger: enquiry.answer, about
    the resident, without the answer's text."""
    answer = answer.strip()
    if not answer or len(answer) > MAX_ANSWER_LENGTH:
        raise PortalError(
            f"回答を{MAX_ANSWER_LENGTH}字以内で入力してください。 "
            f"(Write the answer, up to {MAX_ANSWER_LENGTH} characters.)"
        )
    enquiry = _enquiry_locked(enquiry_id)
    if enquiry.status != EnquiryStatus.OPEN:
        raise PortalError(
            "この問い合わせは既に回答済みか終了しています。 "
            "(This enquiry is already answered or closed.)"
        )
    moment = now or timezone.now()
    enquiry.answer = answer
    enquiry.status = EnquiryStatus.ANSWERED
    enquiry.answered_at = moment
    enquiry.save(update_fields=["answer", "status", "answered_at"])
    _record_enquiry(events.ENQUIRY_ANSWER, enquiry, actor=actor, moment=moment)
    notice_add(person=enquiry.person, kind=NoticeKind.ENQUIRY_ANSWERED, now=moment)
    return enquiry


def _record_enquiry(event_type: str, enquiry: Enquiry, *, actor: str, moment: dt.datetime) -> None:
    """The ledger entry of an auditor's step on an enquiry, about its resident (never its text)."""
    ledger_append(
        event_type=event_type,
        fields={
            "enquiry": str(enquiry.public_id),
            "record": str(enquiry.intake_id),
            "actor": actor,
        },
        subject=pseudonym(enquiry.person),
        moment=moment,
    )


@transaction.atomic
def enquiry_close(
    *, enquiry_id: uuid.UUID | str, actor: str, now: dt.datetime | None = None
) -> Enquiry:
    """Close an enquiry, answered or not (a duplicate, or nothing more to say): it leaves the
    auditors' open queue and the resident sees it closed. Ledger: enquiry.close."""
    enquiry = _enquiry_locked(enquiry_id)
    if enquiry.status == EnquiryStatus.CLOSED:
        raise PortalError("この問い合わせは既に終了しています。 (This enquiry is already closed.)")
    moment = now or timezone.now()
    enquiry.status = EnquiryStatus.CLOSED
    enquiry.closed_at = moment
    enquiry.save(update_fields=["status", "closed_at"])
    _record_enquiry(events.ENQUIRY_CLOSE, enquiry, actor=actor, moment=moment)
    return enquiry
