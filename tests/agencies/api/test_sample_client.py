"""The sample client in docs/ works against a live server, as an agency engineer would run it."""

import importlib.util
from pathlib import Path

import pytest

from agencies.services import agency_system_create, operator_credential_issue

CLIENT = Path(__file__).resolve().parents[3] / "docs" / "examples" / "agency_client.py"


@pytest.mark.django_db(transaction=True)
def test_the_documented_client_sends_a_request(world, live_server, monkeypatch):
    spec = importlib.util.spec_from_file_location("agency_client", CLIENT)
    assert spec is not None and spec.loader is not None
    client = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(client)
    _, key = agency_system_create(institution=world.mayor, name="sample")
    _, credential = operator_credential_issue(staff=world.clerk)
    monkeypatch.setenv("YARITORI_URL", live_server.url)
    monkeypatch.setenv("YARITORI_SYSTEM_KEY", key)
    monkeypatch.setenv("YARITORI_OPERATOR", credential)
    status, answer = client.send_request(
        affair=world.affair.code,
        item=world.pension_item.code,
        provider=world.pension.code,
        addressee_number="000000000012345",
    )
    assert (status, answer["status"]) == (201, "provided")
    monkeypatch.setenv("YARITORI_OPERATOR", "yo_" + "0" * 43)
    status, answer = client.send_request(
        affair=world.affair.code,
        item=world.pension_item.code,
        provider=world.pension.code,
        addressee_number="000000000012345",
    )
    assert status == 403 and "credential" in answer["detail"]
