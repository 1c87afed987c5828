"""Fixtures of the dashboard's tests: a national auditor, privacy officers of the world's city
and of another city, a plain clerk, traffic in the ledger, and the index built over it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from audit.ledger import ledger_integrate
from audit.selectors import AUDITORS_GROUP
from dashboard.indexer import index_all
from dashboard.services import privacy_officer_appoint


def integrate_and_index() -> None:
    """Sequence every pending entry and bring the search index up to the log."""
    while ledger_integrate().integrated:
        pass
    for _ in index_all():
        pass


def _user(username: str, **extra):
    user = get_user_model().objects.create_user(
        username=username,
        password="dashboard-password-1",
        email=f"{username}@audit.invalid",
        **extra,
    )
    return user


@pytest.fixture
def national(db):
    """A national auditor (the auditors group)."""
    user = _user("national.auditor", first_name="監査", last_name="国")
    user.groups.add(Group.objects.get_or_create(name=AUDITORS_GROUP)[0])
    return user


@pytest.fixture
def officer(world):
    """A privacy officer of the world's city (札幌市, 011002)."""
    user = _user("privacy.sapporo")
    privacy_officer_appoint(actor=None, user=user, organization=world.city)
    return user


@pytest.fixture
def other_officer(world):
    """A privacy officer of another city (函館市, 012025), the world's neighbour."""
    user = _user("privacy.hakodate")
    privacy_officer_appoint(actor=None, user=user, organization=world.neighbour.organization)
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clients(national, officer, other_officer, world):
    return SimpleNamespace(
        national=client_for(national),
        officer=client_for(officer),
        other=client_for(other_officer),
        clerk=client_for(world.clerk.user),
        anonymous=Client(),
    )


def seq_of(intake_id: int) -> int:
    """The sequence number the sequencer gave an intake row."""
    from audit.models import LedgerEntry

    return LedgerEntry.objects.get(intake_id=intake_id).seq


def views_written(**fields):
    """The audit.view entries written so far whose fields include `fields`, as parsed records."""
    from audit.entries import parse_leaf
    from audit.models import LedgerIntake

    found = []
    for leaf in (
        LedgerIntake.objects.filter(event_type="audit.view")
        .order_by("id")
        .values_list("leaf", flat=True)
    ):
        record = parse_leaf(leaf)
        if all(record.fields.get(k) == v for k, v in fields.items()):
            found.append(record)
    return found


@pytest.fixture
def traffic(world):
    """Requests of the world's city (visible to its privacy officer), one 不開示 entry about the
    world's person (hidden from privacy officers), and a request of the neighbouring city's
    mayor to the pension service (another organisation's), all sequenced and indexed."""
    import uuid

    from audit.ledger import intake_for_key, ledger_append
    from tests.portal.conftest import hidden_entry
    from tests.support.factories import send_request

    city = [send_request(world) for _ in range(3)]
    hidden = hidden_entry(world.person)
    # The neighbour city's mayor asks the pension service: its own organisation's entry.
    neighbour_request = ledger_append(
        event_type="linkage.request",
        fields={
            "request_id": str(uuid.uuid4()),
            "requester": world.neighbour.code,
            "provider": world.pension.code,
            "affair": world.affair.code,
            "item": world.pension_item.code,
            "staff": "ST00000000000000AA",
            "outcome": "provided",
            "nondisclosure": False,
        },
        subject="SJ" + "A" * 24,
    )
    integrate_and_index()
    city_intakes = [intake_for_key(str(o.request.request_id)) for o in city]
    return SimpleNamespace(
        city=[seq_of(i.pk) for i in city_intakes],
        hidden=seq_of(hidden.intake_id),
        neighbour=seq_of(neighbour_request.intake_id),
    )
