"""Detection's mails through a real SMTP server (aiosmtpd): an immediate mail for each new
high-severity alert to the requesting organisation's privacy officers, a daily digest per
organisation, HTML beside the text, pseudonyms and links only; an alert about a 不開示
person reaches the national auditors only, and no mail to the organisation counts it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from core import tasks as outbox_tasks
from core.models import OutboxMessage
from core.outbox import outbox_deliver
from detection.mail import digest_send
from detection.tasks import daily_digests_task, digest_task
from tests.detection.helpers import OFFICE, alerts, ask, at, resident, scan
from tests.smtp import smtp_server
from tests.support.factories import my_number_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp(settings, monkeypatch):
    """The real SMTP server; deliveries queued after commit are run at once, in order."""
    queued: list[int] = []
    monkeypatch.setattr(outbox_tasks.outbox_deliver_task, "delay", queued.append)
    with smtp_server() as (inbox, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        settings.AUDIT_BASE_URL = "https://yaritori.example.org"
        inbox.deliver = lambda: [outbox_deliver(message_id=m) for m in queued]  # type: ignore[attr-defined]
        yield inbox


@pytest.fixture
def clock_ok():
    with time_machine.travel(OFFICE, tick=False) as traveller:
        yield traveller


def _parts(mail):
    return {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in mail.walk()
        if not p.is_multipart()
    }


def _named(world, **fields):
    return resident(
        world, family_name="秘密", given_name="花子", my_number=my_number_for(77), **fields
    )


def test_a_high_alert_mails_the_organisations_officers_once(world, officers, smtp, clock_ok):
    person = _named(world)
    ask(world, world.clerk, person, item=world.resident_item)  # refused: out of table
    scan()
    smtp.deliver()
    [mail] = smtp.messages
    assert mail["To"] == officers.city.email
    alert = alerts("hard.out_of_table")[0]
    parts = _parts(mail)
    text, html = parts["text/plain"], parts["text/html"]
    assert "連携許可表にない照会" in text and "hard.out_of_table" in text
    assert "検知規則:" in text and "職員（仮名）" in html  # the page texts, in Japanese
    assert f"https://yaritori.example.org/audit/alerts/{alert.pk}/" in text
    assert f'href="https://yaritori.example.org/audit/alerts/{alert.pk}/"' in html
    assert "/admin/" not in text and "/admin/" not in html
    assert world.clerk.audit_pseudonym in text
    for secret in ("秘密", "花子", my_number_for(77), person.addressee_number):
        assert secret not in text and secret not in html and secret not in mail["Subject"]
    scan()  # nothing new: no second mail
    smtp.deliver()
    assert len(smtp.messages) == 1


def test_a_medium_alert_waits_for_the_digest(world, officers, smtp, clock_ok):
    ask(world, world.clerk, resident(world))  # no case: explain.no_case, medium
    scan()
    smtp.deliver()
    assert smtp.messages == [] and alerts()[0].severity == "medium"


def test_an_alert_about_a_protected_person_reaches_national_auditors_only(
    world, officers, smtp, clock_ok
):
    victim = resident(world, disclosure_protected=True, protection_reason="DV等支援措置")
    ask(world, world.clerk, victim)
    scan()
    smtp.deliver()
    assert {m["To"] for m in smtp.messages} == {officers.national.email}
    assert all(a.restricted for a in alerts())
    # The organisation's digest of that day says nothing of it.
    assert digest_send(day=OFFICE.date(), organization_id=world.city.pk) == 0
    assert digest_send(day=OFFICE.date(), organization_id=None) == 1
    smtp.deliver()
    national = smtp.messages[-1]
    assert national["To"] == officers.national.email
    assert "不開示" in _parts(national)["text/plain"]


def test_the_daily_digest_counts_per_rule_names_top_staff_and_links(
    world, officers, smtp, clock_ok, monkeypatch
):
    for i in range(3):
        ask(world, world.clerk, resident(world), now=at(10, i))  # explain.no_case
    ask(world, world.clerk, resident(world), item=world.resident_item)  # hard.out_of_table
    victim = resident(world, disclosure_protected=True, protection_reason="DV等支援措置")
    ask(world, world.clerk, victim)  # restricted: not in the city's digest
    scan()
    smtp.deliver()
    before = len(smtp.messages)
    clock_ok.move_to(OFFICE + dt.timedelta(days=1))
    monkeypatch.setattr(digest_task, "delay", lambda *args: digest_task.apply(args=args))
    daily_digests_task.apply(kwargs={"day": OFFICE.date().isoformat()})
    smtp.deliver()
    digests = smtp.messages[before:]
    by_to = {m["To"]: m for m in digests}
    # One per organisation with alerts (the city), one for the national auditors.
    assert set(by_to) == {officers.city.email, officers.national.email}
    text = _parts(by_to[officers.city.email])["text/plain"]
    html = _parts(by_to[officers.city.email])["text/html"]
    assert re.search(r"1\s+案件のない照会 \(explain\.no_case", text)
    assert re.search(r"1\s+連携許可表にない照会 \(hard\.out_of_table", text)
    assert world.clerk.audit_pseudonym in text
    assert "/audit/alerts/" in html and "<a href=" in html
    assert "hard.nondisclosure" not in text and "不開示" not in text
    # Sent once: the task again queues nothing new.
    daily_digests_task.apply(kwargs={"day": OFFICE.date().isoformat()})
    smtp.deliver()
    assert len(smtp.messages) == before + 2


def test_officers_get_mails_in_their_language(world, officers, smtp, clock_ok):
    from detection.models import PrivacyOfficer

    PrivacyOfficer.objects.filter(user=officers.city).update(language="en")
    ask(world, world.clerk, resident(world), item=world.resident_item)
    scan()
    smtp.deliver()
    [mail] = smtp.messages
    subject = " ".join(mail["Subject"].split())  # unfolded
    assert "Query outside the permitted table" in subject and "High-severity alert" in subject
    assert "Staff member (pseudonym)" in _parts(mail)["text/plain"]


def test_mail_survives_smtp_being_down(world, officers, smtp, clock_ok):
    smtp.refuse = True
    ask(world, world.clerk, resident(world), item=world.resident_item)
    scan()
    with pytest.raises(Exception):  # noqa: B017 - the outbox's own error
        smtp.deliver()
    assert OutboxMessage.objects.get().status == "pending"
    smtp.refuse = False
    smtp.deliver()
    assert len(smtp.messages) == 1
