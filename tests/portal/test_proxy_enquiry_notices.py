"""代理人, 問い合わせ and お知らせ: a proxy named by the principal and accepted with a one-time
code, ended by either, never for a DV-protected principal, every view a ledger entry in the
principal's own list; an enquiry about a record stored, recorded and listed to administrators;
notices by e-mail through the outbox and a real SMTP server, batched, with no personal data."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from audit.entries import parse_leaf
from audit.models import LedgerIntake
from core.models import OutboxMessage
from core.outbox import outbox_deliver
from portal.models import Enquiry, MandateStatus, Notice, ProxyMandate
from portal.notices import mail_confirm, mail_preferences_set, mail_register, record_notices_send
from portal.services import PortalError, card_issue, proxy_accept, proxy_end, proxy_name
from tests.portal.conftest import hidden_entry, login
from tests.smtp import smtp_server
from tests.support.factories import send_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def mandate(resident, other_resident):
    named = proxy_name(principal=resident.person, proxy_card_serial=other_resident.card.serial)
    proxy_accept(proxy=other_resident.person, code=named.code)
    return named.mandate


def _proxy_client(other_resident, mandate):
    client = Client()
    login(client, other_resident.card, other_resident.pin)
    client.post("/portal/act-as/", {"mandate": str(mandate.public_id)})
    return client


def test_a_proxy_is_named_accepted_with_the_code_and_the_principal_notified(
    resident, other_resident
):
    named = proxy_name(principal=resident.person, proxy_card_serial=other_resident.card.serial)
    assert named.mandate.status == MandateStatus.PENDING
    assert named.code not in named.mandate.code_hash
    with pytest.raises(PortalError):
        proxy_accept(
            proxy=other_resident.person, code="00000000" if named.code != "00000000" else "1"
        )
    proxy_accept(proxy=other_resident.person, code=named.code)
    with pytest.raises(PortalError):  # used once
        proxy_accept(proxy=other_resident.person, code=named.code)
    kinds = list(Notice.objects.filter(person=resident.person).values_list("kind", flat=True))
    assert sorted(kinds) == ["proxy_accepted", "proxy_named"]
    types = list(LedgerIntake.objects.order_by("id").values_list("event_type", flat=True))
    assert types[-2:] == ["proxy.name", "proxy.accept"]


def test_an_expired_code_is_refused(resident, other_resident):
    named = proxy_name(principal=resident.person, proxy_card_serial=other_resident.card.serial)
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)), pytest.raises(PortalError):
        proxy_accept(proxy=other_resident.person, code=named.code)


def test_each_proxy_view_is_an_entry_the_principal_sees(resident, other_resident, mandate):
    client = _proxy_client(other_resident, mandate)
    assert client.get("/portal/").context["viewer"].subject == resident.person
    mine = Client()
    login(mine, resident.card, resident.pin)
    rows = mine.get("/portal/").context["rows"]
    assert [r["row"].event_type for r in rows] == ["proxy.view"]
    fields = parse_leaf(LedgerIntake.objects.get(event_type="proxy.view").leaf).fields
    assert fields["view"] == "list" and fields["mandate"] == str(mandate.public_id)


def test_a_proxy_after_it_ended_sees_only_their_own_records(
    world, resident, other_resident, mandate
):
    send_request(world)
    client = _proxy_client(other_resident, mandate)
    [row] = client.get("/portal/").context["rows"]
    proxy_end(person=resident.person, mandate_id=mandate.public_id)
    response = client.get("/portal/")
    assert response.context["viewer"].subject == other_resident.person
    assert client.get(f"/portal/records/{row['row'].intake_id}/").status_code == 404
    assert ProxyMandate.objects.get().ended_by == "principal"
    assert Notice.objects.filter(person=resident.person, kind="proxy_ended").exists()


def test_the_proxy_can_end_it_too(resident, other_resident, mandate):
    proxy_end(person=other_resident.person, mandate_id=mandate.public_id)
    assert ProxyMandate.objects.get().ended_by == "proxy"
    leaf = parse_leaf(LedgerIntake.objects.get(event_type="proxy.end").leaf)
    assert leaf.fields["by"] == "proxy"


def test_a_stranger_cannot_end_or_use_a_mandate(world, resident, other_resident, mandate):
    from tests.portal.conftest import make_counter_clerk
    from tests.support.factories import PersonFactory

    stranger = PersonFactory(given_name="三郎")
    with pytest.raises(PortalError):
        proxy_end(person=stranger, mandate_id=mandate.public_id)
    card = card_issue(staff=make_counter_clerk(world), person=stranger, pin="2222")
    client = Client()
    login(client, card, "2222")
    client.post("/portal/act-as/", {"mandate": str(mandate.public_id)})
    assert client.get("/portal/").context["viewer"].subject == stranger


def test_a_dv_protected_person_can_have_no_proxy(resident, other_resident, mandate):
    person = resident.person
    person.disclosure_protected, person.protection_reason = True, "DV等支援措置"
    person.save()
    client = _proxy_client(other_resident, mandate)  # a mandate from before the protection
    assert client.get("/portal/").context["viewer"].subject == other_resident.person
    with pytest.raises(PortalError):
        proxy_name(principal=person, proxy_card_serial=other_resident.card.serial)


def test_a_proxy_sees_no_hidden_record_of_the_principal(resident, other_resident, mandate):
    hidden = hidden_entry(resident.person)
    client = _proxy_client(other_resident, mandate)
    assert client.get(f"/portal/records/{hidden.intake_id}/").status_code == 404
    assert client.get("/portal/").context["counts"]["exchange"] == 0


def test_an_enquiry_is_stored_recorded_and_listed_to_administrators(
    world, resident, resident_client
):
    send_request(world)
    [row] = resident_client.get("/portal/").context["rows"]
    intake_id = row["row"].intake_id
    response = resident_client.post(
        f"/portal/records/{intake_id}/enquiry", {"question": "なぜ照会されたのですか？"}
    )
    assert response.status_code == 302
    enquiry = Enquiry.objects.get()
    assert enquiry.intake_id == intake_id and enquiry.status == "open"
    entry = parse_leaf(LedgerIntake.objects.get(event_type="enquiry.open").leaf)
    assert entry.fields == {"enquiry": str(enquiry.public_id), "record": str(intake_id)}
    assert "なぜ" not in LedgerIntake.objects.get(event_type="enquiry.open").leaf
    enquiry.status, enquiry.answer = "answered", "児童手当の審査のためです。"
    enquiry.save()
    page = resident_client.get("/portal/enquiries/").content.decode()
    assert "回答済み" in page and "児童手当の審査のためです。" in page
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "pw-12345678")
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/portal/enquiry/")
    assert listing.status_code == 200 and str(enquiry.public_id) in listing.content.decode()


def _confirm(person, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.org"
    mail_register(person=person, email="resident@example.org")
    body = OutboxMessage.objects.get(kind="portal.mail_confirm").body
    token = re.search(r"/portal/notices/confirm/([^/]+)/", body).group(1)
    assert mail_confirm(token=token)


def test_new_record_mails_are_batched_hourly_and_say_nothing_personal(world, resident, settings):
    _confirm(resident.person, settings)
    mail_preferences_set(person=resident.person, new_records=True)
    send_request(world)
    assert record_notices_send() == 1
    send_request(world)
    assert record_notices_send() == 0  # within the hour
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=61)):
        assert record_notices_send() == 1
        assert record_notices_send() == 0  # nothing newer
    mails = OutboxMessage.objects.filter(kind="portal.new_records")
    assert mails.count() == 2
    for message in mails:
        for secret in (resident.person.family_name, world.affair.name, world.affair.code, "TM0"):
            assert secret not in message.body and secret not in message.subject
        assert "https://portal.example.org/portal/login/" in message.body


def test_a_hidden_record_triggers_no_mail(resident, settings):
    _confirm(resident.person, settings)
    mail_preferences_set(person=resident.person, new_records=True)
    hidden_entry(resident.person)
    assert record_notices_send() == 0


def test_notices_go_through_a_real_smtp_server(resident, other_resident, settings):
    with smtp_server() as (inbox, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
        _confirm(resident.person, settings)
        proxy_name(principal=resident.person, proxy_card_serial=other_resident.card.serial)
        for message in OutboxMessage.objects.order_by("id"):
            outbox_deliver(message_id=message.pk)
        assert [m["To"] for m in inbox.messages] == ["resident@example.org"] * 2
        assert "Log in" in inbox.messages[-1].get_payload(decode=True).decode()
    assert mail.outbox == []  # nothing bypassed the outbox
