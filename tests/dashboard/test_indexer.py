"""The auditors' search index: built from the sequenced leaves in order, exactly once, with the
organisations each entry concerns; resumable, rebuildable, safe from two processes at once."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections

from audit.ledger import ledger_append, ledger_integrate
from dashboard.indexer import index_pending, index_rebuild, indexed_up_to
from dashboard.models import EntryOrganization, IndexedEntry
from dashboard.tasks import index_entries_task
from tests.portal.conftest import hidden_entry


def _request(world, **extra):
    fields = {
        "request_id": str(uuid.uuid4()),
        "requester": world.mayor.code,
        "provider": world.pension.code,
        "affair": world.affair.code,
        "item": world.pension_item.code,
        "staff": world.clerk.audit_pseudonym,
        "outcome": "provided",
        "nondisclosure": False,
        **extra,
    }
    return ledger_append(event_type="linkage.request", fields=fields, subject="SJ" + "D" * 24)


def test_entries_are_indexed_in_order_with_their_organisations(world):
    _request(world, case="SAP-1")
    hidden_entry(world.person)
    ledger_append(
        event_type="ordinance.added",
        fields={
            "organization": world.city.code,
            "affair": world.school.code,
            "item": world.resident_item.code,
            "valid_from": "2026-04-01",
            "actor": "system",
        },
    )
    ledger_integrate()
    assert index_pending() == 3
    request, hidden, ordinance = IndexedEntry.objects.order_by("seq")
    assert request.case == "SAP-1" and request.nondisclosure is False
    assert request.requester == world.mayor.code and request.outcome == "provided"
    assert hidden.nondisclosure is True and hidden.reason == "nondisclosure"
    assert ordinance.nondisclosure is None and ordinance.organization == world.city.code
    organizations = {(o.entry_id, o.organization) for o in EntryOrganization.objects.all()}
    pension_org = world.pension.organization.code
    assert organizations == {
        (request.seq, world.city.code),
        (request.seq, pension_org),
        (hidden.seq, world.city.code),
        (hidden.seq, pension_org),
        (ordinance.seq, world.city.code),
    }
    assert index_pending() == 0


def test_only_sequenced_entries_are_indexed_and_it_resumes(world):
    _request(world)
    assert index_pending() == 0  # not in the chain yet
    ledger_integrate()
    for _ in range(5):
        _request(world)
    ledger_integrate()
    assert index_pending(max_batch=4) == 4
    assert index_pending(max_batch=4) == 2
    assert indexed_up_to() == 5
    assert index_entries_task() == 0


def test_a_rebuild_gives_the_same_index(world):
    for _ in range(7):
        _request(world)
    ledger_integrate()
    index_pending()
    before = list(IndexedEntry.objects.order_by("seq").values())
    index_rebuild()
    assert indexed_up_to() is None
    assert index_entries_task() == 7
    assert list(IndexedEntry.objects.order_by("seq").values()) == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_indexers_at_once_index_each_entry_once(world):
    for _ in range(300):
        _request(world)
    ledger_integrate()
    errors = []

    def run():
        try:
            while index_pending(max_batch=25):
                pass
        except Exception as exc:  # pragma: no cover - the failure is the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert IndexedEntry.objects.count() == 300
    assert connection.vendor == "postgresql"
