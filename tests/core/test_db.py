"""core.db: the hot path's prepared writers store what the ORM would store, and the bulk insert
stores what it is given (tested with the world fixture's models)."""

import datetime as dt
import uuid

import pytest
from django.forms.models import model_to_dict

from agencies.models import Household, LinkageRequest, LinkageStatus
from core.db import insert_returning_pk, insert_rows

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


@pytest.mark.parametrize("return_ids", [True, False])
def test_insert_rows_stores_every_row_and_returns_their_ids_in_order(world, return_ids):
    rows = [(world.city.pk, f"{n:010d}", f"住所{n}") for n in range(2500)]
    # A generator when no ids are wanted: streamed, never listed.
    given = rows if return_ids else (row for row in rows)
    ids = insert_rows(
        Household, ("organization", "number", "address"), given, return_ids=return_ids
    )
    stored = {h.pk: (h.organization_id, h.number, h.address) for h in Household.objects.all()}
    assert sorted(stored.values()) == sorted(rows)
    if return_ids:
        assert [stored[pk] for pk in ids] == rows
    else:
        assert ids == []
