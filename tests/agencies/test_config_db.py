"""config.db (tested here, where the world fixture is): the prepared hot-path helpers write
what the ORM would."""

import datetime as dt
import uuid

from django.forms.models import model_to_dict

from agencies.models import LinkageRequest, LinkageStatus
from config.db import insert_returning_pk


def test_insert_returning_pk_stores_the_row_save_would_store(world):
    moment = dt.datetime(2026, 6, 10, 1, 30, 15, 123456, tzinfo=dt.UTC)

    def request():
        return LinkageRequest(
            request_id=uuid.uuid4(),
            requester=world.mayor,
            provider=world.pension,
            staff=world.clerk,
            affair=world.affair,
            item=world.pension_item,
            subject=world.person,
            terminal="WS-01",
            status=LinkageStatus.PROVIDED,
            payload={"年金種別": "老齢基礎年金", "年額": 780000, "list": [1, None, "x"]},
            requested_at=moment,
            answered_at=moment,
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
