"""Fixtures of the detection tests (helpers in tests/detection/helpers.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import time_machine

from detection.models import PrivacyOfficer
from tests.detection.helpers import OFFICE


@pytest.fixture
def clock():
    """The clock stopped at OFFICE; traveller.move_to(...) moves it."""
    with time_machine.travel(OFFICE, tick=False) as traveller:
        yield traveller


@pytest.fixture
def officers(world):
    """A privacy officer of the world's city (Japanese) and one of its neighbour (English), and
    a national auditor."""
    return SimpleNamespace(
        city=PrivacyOfficer.objects.create(
            organization=world.city, name="市 保護責任者", email="officer@city.example.org"
        ),
        neighbour=PrivacyOfficer.objects.create(
            organization=world.neighbour.organization,
            name="Neighbour officer",
            email="officer@neighbour.example.org",
            language="en",
        ),
        national=PrivacyOfficer.objects.create(
            organization=None, name="監査担当", email="auditor@ppc.example.org"
        ),
    )
