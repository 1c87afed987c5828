"""The hot path's writers, tested here where the world fixture is: config.db's prepared
helpers write what the ORM would, and audit.ledger.insert_with_entry writes a row and its
ledger entry together or not at all."""

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.forms.models import model_to_dict

from agencies.models import LinkageRequest, LinkageStatus
from audit.entries import subject_pseudonym
from audit.ledger import insert_with_entry, ledger_append
from audit.models import LedgerIntake
from config.db import insert_returning_pk

MOMENT = dt.datetime(2026, 6, 10, 1, 30, 15, 123456, tzinfo=dt.UTC)
ENTRY: dict[str, Any] = {
    "event_type": "linkage.request",
    "fields": {"request_id": "5f0c6f1e-2d4b-4c8e-9a3b-1e2f3a4b5c6d", "outcome": "provided"},
    "subject": subject_pseudonym("2f6b1c0e-8a4d-4f5e-9b7c-0d1e2f3a4b5c"),
    "moment": MOMENT,
}


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
        **fields,
    )


def test_insert_returning_pk_stores_the_row_save_would_store(world):
    def request():
        return new_request(
            world,
            terminal="WS-01",
            payload={"年金種別": "老齢基礎年金", "年額": 780000, "list": [1, None, "x"]},
            answered_at=MOMENT,
        )

    by_orm, by_helper = request(), request()
    by_orm.save(force_insert=True)
    insert_returning_pk(by_helper)
    assert by_helper.pk is not None and by_helper.pk != by_orm.pk
    assert not by_helper._state.adding
    stored = {
        r.pk: model_to_dict(r, exclude=["id", "request_id"])
        for r in LinkageRequest.objects.filter(pk__in=[by_orm.pk, by_helper.pk])
    }
    assert stored[by_helper.pk] == stored[by_orm.pk]
    assert stored[by_helper.pk]["payload"]["年金種別"] == "老齢基礎年金"
    assert LinkageRequest.objects.get(pk=by_helper.pk).request_id == by_helper.request_id


def test_insert_returning_pk_unless_taken_stores_nothing_and_keeps_the_transaction(world):
    first = new_request(world)
    assert insert_returning_pk(first, unless_taken="request_id")
    again = new_request(world, request_id=first.request_id)
    assert not insert_returning_pk(again, unless_taken="request_id")
    assert again.pk is None and again._state.adding
    # No IntegrityError was raised, so the transaction is still usable (on PostgreSQL a
    # failed statement would have aborted it).
    assert LinkageRequest.objects.filter(request_id=first.request_id).count() == 1


def test_insert_with_entry_writes_the_row_and_the_entry_ledger_append_would(world):
    request = new_request(world)
    written = insert_with_entry(request, unless_taken="request_id", **ENTRY)
    assert written is not None
    assert request.pk is not None and not request._state.adding
    assert LinkageRequest.objects.get(pk=request.pk).request_id == request.request_id
    intake = LedgerIntake.objects.get(pk=written.intake_id)
    alone = ledger_append(**ENTRY)  # the same entry appended on its own
    assert intake.leaf == written.leaf == alone.leaf
    assert (intake.event_type, intake.subject, intake.created_at) == (
        "linkage.request",
        ENTRY["subject"],
        MOMENT,
    )
    assert json.loads(intake.leaf)["subject"] == ENTRY["subject"]


def test_insert_with_entry_writes_nothing_for_a_taken_key(world):
    first = new_request(world)
    insert_with_entry(first, unless_taken="request_id", **ENTRY)
    again = new_request(world, request_id=first.request_id)
    assert insert_with_entry(again, unless_taken="request_id", **ENTRY) is None
    assert again.pk is None
    assert LinkageRequest.objects.count() == 1
    assert LedgerIntake.objects.count() == 1


def test_insert_with_entry_writes_neither_when_the_entry_fails(world, intake_refuses_inserts):
    from django.db import transaction

    with pytest.raises(DatabaseError, match="disk full"), transaction.atomic():
        insert_with_entry(new_request(world), unless_taken="request_id", **ENTRY)
    assert LinkageRequest.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_insert_with_entry_is_atomic_without_a_transaction(world, intake_refuses_inserts):
    """In autocommit, as the agency API runs it: one statement, so a failing entry leaves
    no request behind although no transaction was opened around the write."""
    assert connection.get_autocommit() and not connection.in_atomic_block
    with pytest.raises(DatabaseError, match="disk full"):
        insert_with_entry(new_request(world), unless_taken="request_id", **ENTRY)
    assert LinkageRequest.objects.count() == 0
