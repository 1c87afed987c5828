"""お知らせメール: notices by e-mail, through the one outbox (core.outbox).

A resident registers an address and confirms it by a link; from then on each portal notice
(a proxy named, accepted or ended; an enquiry answered) is mailed, and, if they opt in, one
mail at most an hour says that new records about them exist. A mail says only that there is
something to read and where to log in: no name, no number, no affair, no institution.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from agencies.models import Person
from audit.entries import subject_pseudonym
from audit.models import LedgerIntake
from core.outbox import outbox_enqueue
from portal.models import MailSubscription, Notice

CONFIRM_HOURS = 48
RECORD_MAIL_INTERVAL = dt.timedelta(hours=1)
SUBJECT = "[Yaritori] お知らせ / Notice"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _login_url() -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("portal:login")


def _body(ja: str, en: str) -> str:
    url = _login_url()
    return (
        f"{ja}\n{url}\n\n{en}\n{url}\n\n-- Yaritori (このメールには返信できません / do not reply)\n"
    )


@transaction.atomic
def mail_register(*, person: Person, email: str, now: dt.datetime | None = None) -> None:
    """Register (or change) the person's address; it takes effect when the link mailed to it
    is opened within CONFIRM_HOURS hours. Until then nothing else is mailed to it."""
    moment = now or timezone.now()
    token = secrets.token_urlsafe(32)
    subscription, _ = MailSubscription.objects.select_for_update().get_or_create(
        person=person, defaults={"email": email}
    )
    subscription.email = email
    subscription.token_hash = _hash(token)
    subscription.token_expires_at = moment + dt.timedelta(hours=CONFIRM_HOURS)
    subscription.confirmed_at = None
    subscription.save()
    link = settings.PORTAL_BASE_URL.rstrip("/") + reverse("portal:mail-confirm", args=[token])
    outbox_enqueue(
        kind="portal.mail_confirm",
        dedupe_key=f"portal-confirm-{subscription.token_hash}",
        to=email,
        subject="[Yaritori] メールアドレスの確認 / Confirm your address",
        body=(
            f"次のリンクを開くと、このアドレスにお知らせが届くようになります。\n{link}\n\n"
            f"Open this link to receive Yaritori notices at this address.\n{link}\n\n"
            "心当たりがなければ、このメールは破棄してください。 "
            "If you did not ask for this, ignore this mail.\n"
        ),
    )


@transaction.atomic
def mail_confirm(*, token: str, now: dt.datetime | None = None) -> bool:
    """Confirm the address whose link carried token; False for an unknown or expired token."""
    moment = now or timezone.now()
    subscription = (
        MailSubscription.objects.select_for_update()
        .filter(token_hash=_hash(token), token_expires_at__gt=moment)
        .first()
    )
    if subscription is None:
        return False
    subscription.confirmed_at = moment
    subscription.token_hash = ""
    # New-record mails count from now: what the resident had before is no news.
    latest = LedgerIntake.objects.filter(
        subject=subject_pseudonym(str(subscription.person.public_id))
    ).aggregate(m=Max("id"))["m"]
    subscription.last_seen_intake_id = latest or 0
    subscription.save()
    return True


@transaction.atomic
def mail_preferences_set(*, person: Person, new_records: bool) -> None:
    """Opt in or out of the new-record mails (needs a confirmed address to have effect)."""
    MailSubscription.objects.filter(person=person).update(new_records=new_records)


def notice_mail(*, notice: Notice) -> None:
    """Mail a portal notice to the person's confirmed address, if any (caller's transaction)."""
    subscription = MailSubscription.objects.filter(
        person_id=notice.person_id, confirmed_at__isnull=False
    ).first()
    if subscription is None:
        return
    outbox_enqueue(
        kind="portal.notice",
        dedupe_key=f"portal-notice-{notice.pk}",
        to=subscription.email,
        subject=SUBJECT,
        body=_body(
            "Yaritori に新しいお知らせがあります。ログインしてご確認ください。",
            "There is a new notice for you on Yaritori. Log in to read it.",
        ),
    )


def record_notices_send(*, now: dt.datetime | None = None) -> int:
    """One mail to each opted-in, confirmed resident with a new disclosed record since their
    last mail, at most one an hour each. Returns the number of mails queued.

    A 不開示 record never triggers a mail: a mail about it would tell that it exists.
    """
    from portal.selectors import _disclosed, _parse

    moment = now or timezone.now()
    queued = 0
    due = MailSubscription.objects.filter(confirmed_at__isnull=False, new_records=True).exclude(
        last_mailed_at__gt=moment - RECORD_MAIL_INTERVAL
    )
    for subscription_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            subscription = (
                MailSubscription.objects.select_for_update(skip_locked=True)
                .select_related("person")
                .filter(pk=subscription_id)
                .first()
            )
            if subscription is None:
                continue
            pseudonym = subject_pseudonym(str(subscription.person.public_id))
            newer = list(
                LedgerIntake.objects.filter(
                    subject=pseudonym, id__gt=subscription.last_seen_intake_id
                ).values_list("id", "leaf")
            )
            if not newer:
                continue
            subscription.last_seen_intake_id = max(pk for pk, _ in newer)
            if any(_disclosed(_parse(leaf)) for _, leaf in newer):
                outbox_enqueue(
                    kind="portal.new_records",
                    dedupe_key=f"portal-records-{subscription.pk}-{subscription.last_seen_intake_id}",
                    to=subscription.email,
                    subject=SUBJECT,
                    body=_body(
                        "あなたに関する新しい記録があります。ログインしてご確認ください。",
                        "There is a new record about you. Log in to read it.",
                    ),
                )
                subscription.last_mailed_at = moment
                queued += 1
            subscription.save(update_fields=["last_seen_intake_id", "last_mailed_at"])
    return queued
