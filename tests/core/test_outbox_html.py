"""The outbox's HTML alternative: a mail enqueued with html arrives as multipart/alternative
with the text and the HTML part, through a real SMTP server; without html it stays plain."""

from __future__ import annotations

import pytest

from core import tasks
from core.outbox import outbox_deliver, outbox_enqueue
from tests.smtp import smtp_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp(settings, monkeypatch):
    monkeypatch.setattr(tasks.outbox_deliver_task, "delay", lambda _id: None)
    with smtp_server() as (inbox, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        yield inbox


def test_html_travels_beside_the_text(smtp):
    message_id = outbox_enqueue(
        kind="test",
        dedupe_key="html-1",
        to="officer@example.org",
        subject="警報",
        body="本文 text",
        html="<p>本文 <b>html</b></p>",
    )
    assert outbox_deliver(message_id=message_id)
    [mail] = smtp.messages
    assert mail.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part for part in mail.walk()}
    assert "本文 text" in parts["text/plain"].get_payload(decode=True).decode()
    assert "<b>html</b>" in parts["text/html"].get_payload(decode=True).decode()


def test_without_html_the_mail_is_plain_text(smtp):
    message_id = outbox_enqueue(
        kind="test", dedupe_key="plain-1", to="a@example.org", subject="s", body="b"
    )
    assert outbox_deliver(message_id=message_id)
    assert smtp.messages[0].get_content_type() == "text/plain"
