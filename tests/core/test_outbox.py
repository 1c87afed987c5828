"""The one mail outbox: a mail is a row written in the caller's transaction, queued only after
the commit, sent once through a real SMTP server, retried a bounded number of times, and found
again by the sweep when its task was lost."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from core import tasks
from core.models import OutboxMessage, OutboxStatus
from core.outbox import (
    MAX_ATTEMPTS,
    OutboxDeliveryError,
    outbox_deliver,
    outbox_due,
    outbox_enqueue,
)
from tests.smtp import smtp_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(tasks.outbox_deliver_task, "delay", sent.append)
    return sent


@pytest.fixture
def smtp(settings):
    with smtp_server() as (inbox, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        yield inbox


def _enqueue(key="k1"):
    return outbox_enqueue(kind="test", dedupe_key=key, to="a@example.org", subject="s", body="b")


def test_the_task_is_queued_only_after_the_commit(queued):
    with transaction.atomic():
        message_id = _enqueue()
        assert queued == []
    assert queued == [message_id]


def test_a_rolled_back_transaction_leaves_no_mail(queued):
    def write_then_fail() -> None:
        with transaction.atomic():
            _enqueue()
            raise RuntimeError

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert queued == [] and not OutboxMessage.objects.exists()


def test_the_same_dedupe_key_is_stored_and_queued_once(queued):
    assert _enqueue() == _enqueue()
    assert OutboxMessage.objects.count() == 1 and len(queued) == 1


def test_a_message_is_sent_once_through_smtp(queued, smtp):
    message_id = _enqueue()
    assert outbox_deliver(message_id=message_id) is True
    assert outbox_deliver(message_id=message_id) is False  # a redelivered task
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["To"] == "a@example.org"
    assert OutboxMessage.objects.get().status == OutboxStatus.SENT


def test_a_failure_is_recorded_retried_and_bounded(queued, smtp):
    smtp.refuse = True
    message_id = _enqueue()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with pytest.raises(OutboxDeliveryError):
            outbox_deliver(message_id=message_id)
        message = OutboxMessage.objects.get()
        assert message.attempts == attempt
        assert "451" in message.last_error
    assert message.status == OutboxStatus.FAILED
    smtp.refuse = False
    assert outbox_deliver(message_id=message_id) is False
    assert smtp.messages == []


def test_the_sweep_finds_a_message_whose_task_was_lost(monkeypatch, smtp):
    def broker_down(_message_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.outbox_deliver_task, "delay", broker_down)
    message_id = _enqueue()  # committed; its task could not be queued
    assert outbox_due() == []  # not stale yet
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        assert outbox_due() == [message_id]
        swept: list[int] = []
        monkeypatch.setattr(tasks.outbox_deliver_task, "delay", swept.append)
        assert tasks.outbox_sweep_task() == 1
    assert swept == [message_id]
    outbox_deliver(message_id=message_id)
    assert len(smtp.messages) == 1


def test_the_task_takes_an_id_and_is_acks_late():
    assert tasks.outbox_deliver_task.acks_late is True
    assert tasks.outbox_deliver_task.max_retries == MAX_ATTEMPTS - 1
