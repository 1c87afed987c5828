"""Fixtures of the portal's tests: residents with cards, logged-in clients, a witness."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from audit.entries import subject_pseudonym
from audit.ledger import ledger_append, ledger_integrate
from audit.witnessing import witness_run
from portal.services import card_issue
from tests.support.factories import PersonFactory, StaffFactory

PIN = "1234"


def make_counter_clerk(world):
    """A clerk of the world's city with the counter permission (窓口)."""
    clerk = StaffFactory(department=world.clerk.department)
    clerk.user.user_permissions.add(Permission.objects.get(codename="counter_clerk"))
    clerk.user.set_password("counter-password-1")
    clerk.user.save()
    return type(clerk).objects.select_related("user", "institution").get(pk=clerk.pk)


@pytest.fixture
def counter_clerk(world):
    return make_counter_clerk(world)


@pytest.fixture
def resident(world, counter_clerk):
    """The world's person with a card (PIN 1234)."""
    card = card_issue(staff=counter_clerk, person=world.person, pin=PIN)
    return SimpleNamespace(person=world.person, card=card, pin=PIN)


@pytest.fixture
def other_resident(world, counter_clerk):
    person = PersonFactory(given_name="花子")
    card = card_issue(staff=counter_clerk, person=person, pin="9876")
    return SimpleNamespace(person=person, card=card, pin="9876")


def login(client: Client, card, pin: str):
    return client.post("/portal/login/", {"serial": card.serial, "pin": pin})


@pytest.fixture
def resident_client(resident):
    client = Client()
    response = login(client, resident.card, resident.pin)
    assert response.status_code == 302, response.content[:500]
    return client


def hidden_entry(person, **fields):
    """A linkage.request entry about person carrying the 不開示 marker (DV support measure)."""
    base = {
        "request_id": str(uuid.uuid4()),
        "requester": "0110020000000001",
        "provider": "9900150000000001",
        "affair": "JT01010000000214",
        "item": "TM00000000000002",
        "staff": "ST0123456789ABCDEF",
        "outcome": "held",
        "reason": "nondisclosure",
        "nondisclosure": True,
    }
    base.update(fields)
    return ledger_append(
        event_type="linkage.request", fields=base, subject=subject_pseudonym(str(person.public_id))
    )


def integrate() -> None:
    while ledger_integrate().integrated:
        pass


@pytest.fixture
def witness_dir(tmp_path, settings):
    """The demo's own witness in a folder of its own, pinned by the portal."""
    settings.WITNESS_DIR = tmp_path / "witness"
    settings.PORTAL_WITNESS_KEYS = []
    return settings.WITNESS_DIR


def witness_now(witness_dir) -> None:
    """Integrate everything and have the witness cosign the latest checkpoint."""
    integrate()
    witness_run(directory=witness_dir, now=int(timezone.now().timestamp()))


def days_ago(n: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=n)
