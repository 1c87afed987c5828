"""The demo's cards: counter clerks at 市民課, cards with demo PINs that log in, a proxy, and the
banner that prints a few of them."""

import uuid

import pytest
from django.test import Client

from agencies.models import LinkageRequest
from demo.cards import demo_cards, demo_cards_issue, demo_pin
from demo.management.commands.demo_banner import banner
from portal.models import Card, MandateStatus, ProxyMandate
from tests.support.factories import PersonFactory, send_request

pytestmark = pytest.mark.django_db


def test_demo_cards_log_in_and_the_banner_prints_them(world):
    world.board_clerk.department.name = "市民課"  # the demo's counter is at 市民課
    world.board_clerk.department.save()
    send_request(world)
    send_request(world, item=world.resident_item, provider=world.board)  # held
    send_request(world, affair=world.unnotified)  # refused
    template = LinkageRequest.objects.first()
    for n in range(3):  # three more residents with a record each
        template.pk, template.request_id = None, uuid.uuid4()
        template.subject = PersonFactory(given_name=f"住民{n}")
        template.save()
    assert demo_cards_issue() == 4
    assert demo_cards_issue() == 0  # once
    assert ProxyMandate.objects.get().status == MandateStatus.ACTIVE
    shown = demo_cards()
    card = Card.objects.get(person=world.person)  # held and refused: the first card
    assert shown[0].serial.replace("-", "") == card.serial
    assert shown[0].what.startswith("保留・拒否")
    response = Client().post("/portal/login/", {"serial": card.serial, "pin": shown[0].pin})
    assert response.status_code == 302
    assert shown[0].pin == demo_pin(card.serial)
    text = banner(8000)
    assert shown[0].serial in text and f"PIN {shown[0].pin}" in text
    assert "代理人あり" in text and "窓口" in text
