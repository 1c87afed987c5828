"""Residents' enquiries: the auditors' queue (status, age), an answer the resident sees in the
portal, closing, each a ledger entry without the text."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from audit.entries import parse_leaf, subject_pseudonym
from audit.models import LedgerEntry, LedgerIntake
from portal.models import Enquiry, EnquiryStatus, Notice, NoticeKind
from portal.services import card_issue, enquiry_open
from tests.dashboard.conftest import integrate_and_index
from tests.portal.conftest import make_counter_clerk


@pytest.fixture
def enquiries(world, traffic):
    """Three enquiries about the city's entries: fresh, 5 days old, 20 days old."""
    now = timezone.now()
    made = []
    for seq, days in zip(traffic.city, (0, 5, 20), strict=True):
        intake = LedgerEntry.objects.get(seq=seq).intake_id
        made.append(
            enquiry_open(
                person=world.person,
                intake_id=intake,
                question=f"{days}日前の質問: この照会の理由を教えてください",
                now=now - dt.timedelta(days=days, minutes=1),
            )
        )
    integrate_and_index()
    return made


@pytest.fixture
def resident(world):
    card = card_issue(staff=make_counter_clerk(world), person=world.person, pin="1234")
    client = Client()
    assert client.post("/portal/login/", {"serial": card.serial, "pin": "1234"}).status_code == 302
    return client


def _queued(client, query: str = "") -> list[str]:
    return [str(q.public_id) for q in client.get(f"/audit/enquiries/{query}").context["queue"]]


def test_the_queue_lists_open_enquiries_oldest_first_and_filters_by_age(clients, enquiries):
    fresh, five, twenty = (str(e.public_id) for e in enquiries)
    assert _queued(clients.national) == [twenty, five, fresh]
    assert _queued(clients.national, "?age=3") == [twenty, five]
    assert _queued(clients.national, "?age=14") == [twenty]
    assert _queued(clients.officer) == [twenty, five, fresh]  # the city's own records
    assert _queued(clients.other) == []
    page = clients.national.get("/audit/enquiries/").content.decode()
    assert "この照会の理由" not in page  # the question only on the enquiry's own page


def test_an_answer_reaches_the_resident_and_is_recorded_without_its_text(
    clients, enquiries, world, resident, officer
):
    enquiry = enquiries[1]
    answer = "児童手当の認定のための照会です。担当課は子育て支援課です。"
    response = clients.officer.post(
        f"/audit/enquiries/{enquiry.public_id}/", {"action": "reply", "answer": answer}
    )
    assert response.status_code == 302
    enquiry.refresh_from_db()
    assert enquiry.status == EnquiryStatus.ANSWERED and enquiry.answer == answer
    [entry] = LedgerIntake.objects.filter(event_type="enquiry.answer")
    record = parse_leaf(entry.leaf)
    assert record.subject == subject_pseudonym(str(world.person.public_id))
    assert set(record.fields) == {"enquiry", "record", "actor"}
    assert record.fields["enquiry"] == str(enquiry.public_id)
    assert "児童手当" not in entry.leaf
    assert Notice.objects.filter(person=world.person, kind=NoticeKind.ENQUIRY_ANSWERED).exists()
    # The resident sees the answer under 問い合わせ and on the record itself.
    assert answer in resident.get("/portal/enquiries/").content.decode()
    assert answer in resident.get(f"/portal/records/{enquiry.intake_id}/").content.decode()
    # ... and, in their list, that their enquiry was answered.
    account = resident.get("/portal/?tab=account").content.decode()
    assert f'data-intake="{entry.pk}"' in account
    # It left the open queue.
    assert str(enquiry.public_id) not in _queued(clients.officer)
    assert str(enquiry.public_id) in _queued(clients.officer, "?status=answered")


def test_an_enquiry_is_answered_once_and_can_be_closed(clients, enquiries, resident):
    enquiry = enquiries[0]
    url = f"/audit/enquiries/{enquiry.public_id}/"
    clients.national.post(url, {"action": "reply", "answer": "最初の回答"})
    clients.national.post(url, {"action": "reply", "answer": "二度目の回答"})
    enquiry.refresh_from_db()
    assert enquiry.answer == "最初の回答"
    assert LedgerIntake.objects.filter(event_type="enquiry.answer").count() == 1
    clients.national.post(url, {"action": "close"})
    enquiry.refresh_from_db()
    assert enquiry.status == EnquiryStatus.CLOSED and enquiry.closed_at is not None
    assert LedgerIntake.objects.filter(event_type="enquiry.close").count() == 1
    assert "終了" in resident.get("/portal/enquiries/").content.decode()
    # A closed enquiry cannot be answered or closed again.
    clients.national.post(url, {"action": "reply", "answer": "遅い回答"})
    clients.national.post(url, {"action": "close"})
    assert LedgerIntake.objects.filter(event_type__startswith="enquiry.c").count() == 1
    assert str(enquiry.public_id) in _queued(clients.national, "?status=closed")
    assert str(enquiry.public_id) in _queued(clients.national, "?status=")


def test_an_enquiry_may_be_closed_without_an_answer(clients, enquiries):
    enquiry = enquiries[2]
    clients.officer.post(f"/audit/enquiries/{enquiry.public_id}/", {"action": "close"})
    enquiry.refresh_from_db()
    assert enquiry.status == EnquiryStatus.CLOSED and enquiry.answer == ""


def test_an_empty_or_overlong_answer_is_refused(clients, enquiries):
    url = f"/audit/enquiries/{enquiries[0].public_id}/"
    for answer in ("   ", "あ" * 4001):
        clients.national.post(url, {"action": "reply", "answer": answer})
    assert Enquiry.objects.get(pk=enquiries[0].pk).status == EnquiryStatus.OPEN
    assert not LedgerIntake.objects.filter(event_type="enquiry.answer").exists()
