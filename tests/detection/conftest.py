"""Fixtures of the detection tests (helpers in tests/detection/helpers.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from audit.selectors import AUDITORS_GROUP
from dashboard.services import privacy_officer_appoint
from tests.detection.helpers import OFFICE


@pytest.fixture
def clock():
    """The clock stopped at OFFICE; traveller.move_to(...) moves it."""
    with time_machine.travel(OFFICE, tick=False) as traveller:
        yield traveller


def _user(username: str, email: str, *, auditor: bool = False):
    user = get_user_model().objects.create_user(username=username, email=email)
    if auditor:
        user.groups.add(Group.objects.get_or_create(name=AUDITORS_GROUP)[0])
    return user


@pytest.fixture
def officers(world):
    """A privacy officer of the world's city (Japanese) and one of its neighbour (English), and
    a national auditor (a member of the auditors group)."""
    return SimpleNamespace(
        city=privacy_officer_appoint(
            actor=None,
            user=_user("officer.city", "officer@city.example.org"),
            organization=world.city,
        ).user,
        neighbour=privacy_officer_appoint(
            actor=None,
            user=_user("officer.neighbour", "officer@neighbour.example.org"),
            organization=world.neighbour.organization,
            language="en",
        ).user,
        national=_user("auditor.ppc", "auditor@ppc.example.org", auditor=True),
    )
