"""窓口 (the counter) at /staff/counter/: counter clerks only; issue, reissue and reset PINs, each
a ledger entry naming the clerk; residents of the clerk's own organisation only."""

import pytest
from django.test import Client

from audit.entries import parse_leaf
from audit.models import LedgerIntake
from portal.models import Card
from tests.support.factories import WORLD_ADDRESSEE

pytestmark = pytest.mark.django_db


def _client(staff):
    client = Client()
    client.force_login(staff.user)
    return client


def test_a_clerk_without_the_permission_is_refused(world):
    response = _client(world.clerk).get("/staff/counter/")
    assert response.status_code == 403


def test_the_counter_issues_reissues_and_resets_each_on_the_ledger(world, counter_clerk):
    client = _client(counter_clerk)
    page = client.get(f"/staff/counter/?addressee_number={WORLD_ADDRESSEE}")
    assert page.context["person"] == world.person and page.context["card"] is None
    data = {"addressee_number": WORLD_ADDRESSEE, "pin": "2468"}
    assert client.post("/staff/counter/", {**data, "action": "issue"}).status_code == 302
    first = Card.objects.get(person=world.person)
    assert client.post("/staff/counter/", {**data, "action": "reset"}).status_code == 302
    assert client.post("/staff/counter/", {**data, "action": "reissue"}).status_code == 302
    assert Card.objects.get(pk=first.pk).revoked_at is not None
    types = list(LedgerIntake.objects.order_by("id").values_list("event_type", flat=True))
    assert types == ["card.issue", "card.reset", "card.reissue"]
    for entry in LedgerIntake.objects.all():
        assert parse_leaf(entry.leaf).fields["actor"] == counter_clerk.audit_pseudonym
        assert "2468" not in entry.leaf


def test_a_resident_of_another_organisation_is_not_found(world, counter_clerk):
    response = _client(counter_clerk).get("/staff/counter/?addressee_number=999999999999999")
    assert response.context["person"] is None
