"""The network's one-statement write: a request row and its ledger entry are stored together
or not at all, and the entry is the one the ledger would append on its own."""

import datetime as dt
import json
import uuid

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models.signals import post_delete, post_init, post_save, pre_delete, pre_save

from agencies.models import LinkageRequest, LinkageStatus
from agencies.network.events import LINKAGE_REQUEST, request_entry
from agencies.network.services import store_with_entry
from audit.ledger import entry_write, intake_for_key
from audit.models import LedgerIntake

MOMENT = dt.datetime(2026, 6, 10, 1, 30, 15, 123456, tzinfo=dt.UTC)


def new_request(world, request_id=None, **fields):
    return LinkageRequest(
        request_id=request_id or uuid.uuid4(),
        requester=world.mayor,
        provider=world.pension,
        staff=world.clerk,
        affair=world.affair,
        item=world.pension_item,
        subject=world.person,
        status=LinkageStatus.PROVIDED,
        requested_at=MOMENT,
        answered_at=MOMENT,
        **fields,
    )


def test_it_writes_the_row_and_the_entry_the_ledger_would_append(world):
    request = new_request(world)
    entry = request_entry(request, LINKAGE_REQUEST)
    assert store_with_entry(request, entry)
    assert request.pk is not None and not request._state.adding
    assert LinkageRequest.objects.get(pk=request.pk).request_id == request.request_id
    [intake] = LedgerIntake.objects.all()
    alone = entry_write(entry)  # the same entry appended on its own
    assert intake.leaf == entry.leaf == alone.leaf
    assert (intake.event_type, intake.created_at) == (LINKAGE_REQUEST, MOMENT)
    assert intake.subject == json.loads(intake.leaf)["subject"]
    # The request's entry is found by its request id, in one indexed lookup.
    assert intake_for_key(str(request.request_id)) == intake


def test_it_writes_nothing_for_a_taken_request_id(world):
    first = new_request(world)
    assert store_with_entry(first, request_entry(first, LINKAGE_REQUEST))
    again = new_request(world, request_id=first.request_id)
    assert not store_with_entry(again, request_entry(again, LINKAGE_REQUEST))
    assert again.pk is None
    assert LinkageRequest.objects.count() == 1
    assert LedgerIntake.objects.count() == 1


def test_it_writes_neither_when_the_entry_fails(world, intake_refuses_inserts):
    request = new_request(world)
    with pytest.raises(DatabaseError, match="disk full"), transaction.atomic():
        store_with_entry(request, request_entry(request, LINKAGE_REQUEST))
    assert LinkageRequest.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_is_atomic_without_a_transaction(world, intake_refuses_inserts):
    """In autocommit, as the agency API runs it: one statement, so a failing entry leaves
    no request behind although no transaction was opened around the write."""
    assert connection.get_autocommit() and not connection.in_atomic_block
    request = new_request(world)
    with pytest.raises(DatabaseError, match="disk full"):
        store_with_entry(request, request_entry(request, LINKAGE_REQUEST))
    assert LinkageRequest.objects.count() == 0


@pytest.mark.parametrize("signal", [pre_save, post_save, pre_delete, post_delete, post_init])
def test_nothing_listens_to_the_request_model(signal):
    """The hot path writes a request without save(): a receiver connected to LinkageRequest
    would silently never run. Whoever needs to react to requests reads the ledger instead."""
    assert not signal.has_listeners(LinkageRequest)
