"""一括照会 (batch queries): opened and recorded by a department, sent through the network one
request at a time, each naming its batch; resumable without sending anything twice; and the
batch explains its requests only for its own department, affair and route."""

import datetime as dt
import json
import logging
import uuid

import pytest
import time_machine
from kombu.exceptions import OperationalError

from agencies import batches as batches_module
from agencies import tasks
from agencies.batches import (
    BatchError,
    batch_open,
    batch_progress,
    batch_request_id,
    batch_send,
)
from agencies.models import (
    AddresseeNumber,
    Batch,
    BatchPurpose,
    LinkageRequest,
    LinkageStatus,
    ProvisionCopy,
)
from audit.entries import parse_leaf
from audit.models import LedgerIntake
from tests.support.factories import (
    WORLD_ADDRESSEE,
    DepartmentFactory,
    PersonFactory,
    StaffFactory,
    issue_token,
    my_number_for,
    send_request,
)

NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)  # a Wednesday, 10:30 in Tokyo


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def resident(world, number, *, tokens=True):
    """A resident of the city with this 宛名番号 and, unless told otherwise, the 符号 of the
    mayor's office and of the pension service."""
    person = PersonFactory()
    AddresseeNumber.objects.create(organization=world.city, person=person, number=number)
    if tokens:
        issue_token(world.mayor, person)
        issue_token(world.pension, person)
    return person


def leaves(event_type=None):
    rows = LedgerIntake.objects.order_by("id")
    if event_type:
        rows = rows.filter(event_type=event_type)
    return [json.loads(leaf) for leaf in rows.values_list("leaf", flat=True)]


def open_batch(world, numbers, **overrides):
    params = {
        "staff": world.clerk,
        "affair": world.affair,
        "item": world.pension_item,
        "provider": world.pension,
        "purpose": BatchPurpose.STATUS_CHECK,
        "addressee_numbers": numbers,
    }
    params.update(overrides)
    return batch_open(**params)


def test_opening_a_batch_records_it_for_the_department(world):
    resident(world, "000000000000101")
    batch = open_batch(world, [WORLD_ADDRESSEE, "000000000000101"])
    assert batch.department == world.clerk.department
    assert batch.subjects == [WORLD_ADDRESSEE, "000000000000101"]
    assert batch.subject_count == 2
    [leaf] = leaves()
    assert leaf == {
        "v": 1,
        "type": "batch.opened",
        "time": "2026-06-10T01:30:00.000000Z",
        "batch": str(batch.batch_id),
        "affair": world.affair.code,
        "institution": world.mayor.code,
        "department": world.clerk.department.code,
        "staff": world.clerk.audit_pseudonym,
        "purpose": "status_check",
        "subjects": "2",
    }
    assert not LinkageRequest.objects.exists()  # opening sends nothing


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"affair": "unassigned"}, "route"),
        ({"provider": "mayor"}, "route"),  # the own institution: 庁内連携, not linkage
        ({"item": "tax"}, "route"),  # the pension/tax row expired in 2019
        ({"affair": "unnotified"}, "route"),  # an independent-use affair never notified
        ({"purpose": "curiosity"}, "purpose"),
    ],
)
def test_a_batch_the_staff_member_may_not_send_is_not_opened(world, overrides, field):
    world.unassigned = world.school
    world.clerk.assigned_affairs.remove(world.school)
    values = {k: v if k == "purpose" else getattr(world, v) for k, v in overrides.items()}
    with pytest.raises(BatchError) as error:
        open_batch(world, [WORLD_ADDRESSEE], **values)
    assert error.value.field == field
    assert not Batch.objects.exists()
    assert not LedgerIntake.objects.exists()


def test_the_list_is_checked_line_by_line_without_repeating_a_line(world):
    typed_by_mistake = my_number_for(1)  # the world person's My Number, not a 宛名番号
    with pytest.raises(BatchError) as unknown:
        open_batch(world, [WORLD_ADDRESSEE, typed_by_mistake, "999"])
    assert unknown.value.field == "subjects"
    assert "2、3" in str(unknown.value)
    assert typed_by_mistake not in str(unknown.value) and "999" not in str(unknown.value)
    with pytest.raises(BatchError, match="3"):
        open_batch(world, [WORLD_ADDRESSEE, "000000000000101", WORLD_ADDRESSEE])
    with pytest.raises(BatchError):
        open_batch(world, [])
    assert not Batch.objects.exists()
    assert not LedgerIntake.objects.exists()


def test_a_batch_is_bounded(world, monkeypatch):
    monkeypatch.setattr(batches_module, "MAX_BATCH_SUBJECTS", 2)
    for n in (101, 102, 103):
        resident(world, f"000000000000{n}")
    with pytest.raises(BatchError, match="2"):
        open_batch(world, ["000000000000101", "000000000000102", "000000000000103"])
    assert open_batch(world, ["000000000000101", "000000000000102"]).subject_count == 2


def test_sending_a_batch_sends_one_request_per_subject_each_naming_the_batch(world):
    resident(world, "000000000000101")
    batch = open_batch(world, [WORLD_ADDRESSEE, "000000000000101"])
    assert batch_send(batch_id=batch.pk) == 0
    requests = LinkageRequest.objects.filter(batch=batch).order_by("requested_at", "pk")
    assert [r.request_id for r in requests] == [
        batch_request_id(batch, WORLD_ADDRESSEE),
        batch_request_id(batch, "000000000000101"),
    ]
    assert {r.status for r in requests} == {LinkageStatus.PROVIDED, LinkageStatus.NOT_FOUND}
    assert {r.terminal for r in requests} == {"BATCH-" + batch.batch_id.hex[:12].upper()}
    entries = leaves("linkage.request")
    assert len(entries) == 2
    assert {e["batch"] for e in entries} == {str(batch.batch_id)}
    assert {e["staff"] for e in entries} == {world.clerk.audit_pseudonym}
    for leaf in LedgerIntake.objects.filter(event_type="linkage.request").values_list(
        "leaf", flat=True
    ):
        assert parse_leaf(leaf).fields["batch"] == str(batch.batch_id)
    batch.refresh_from_db()
    assert batch.finished_at == NOW


def test_a_stopped_batch_resumes_and_a_rerun_sends_nothing_twice(world):
    numbers = [WORLD_ADDRESSEE] + [f"000000000000{n}" for n in range(101, 106)]
    for number in numbers[1:]:
        resident(world, number)
    batch = open_batch(world, numbers)
    assert batch_send(batch_id=batch.pk, limit=2) == 4  # the worker stops here
    batch.refresh_from_db()
    assert batch.finished_at is None
    assert LinkageRequest.objects.filter(batch=batch).count() == 2
    assert batch_send(batch_id=batch.pk) == 0  # resumed
    assert batch_send(batch_id=batch.pk) == 0  # and run once more
    assert LinkageRequest.objects.filter(batch=batch).count() == 6
    assert len(leaves("linkage.request")) == 6
    # Each subject once, in the order of the list.
    sent = LinkageRequest.objects.filter(batch=batch).order_by("pk")
    assert [r.request_id for r in sent] == [batch_request_id(batch, n) for n in numbers]


def test_a_request_sent_by_a_concurrent_run_is_replayed_not_sent_again(world, monkeypatch):
    """Two workers read the same pending list; the second one's sends are replays."""
    resident(world, "000000000000101")
    batch = open_batch(world, [WORLD_ADDRESSEE, "000000000000101"])
    real_send = batches_module.linkage_request_send
    outcomes: list = []

    def send_after_the_other_worker(**params):
        if not outcomes:
            # The other worker sends everything between this one's read and its first send.
            monkeypatch.setattr(batches_module, "linkage_request_send", real_send)
            batch_send(batch_id=batch.pk)
        outcomes.append(real_send(**params))
        return outcomes[-1]

    monkeypatch.setattr(batches_module, "linkage_request_send", send_after_the_other_worker)
    batch_send(batch_id=batch.pk)
    assert outcomes and all(o.replayed for o in outcomes)
    assert LinkageRequest.objects.filter(batch=batch).count() == 2
    assert len(leaves("linkage.request")) == 2


def test_progress_counts_the_requests_by_outcome(world):
    held = resident(world, "000000000000101")
    issue_token(world.board, held)
    ProvisionCopy.objects.create(
        institution=world.board,
        item=world.resident_item,
        token=held.tokens.get(institution=world.board),
        payload={"世帯員数": 1},
        manual_answer=True,
    )
    resident(world, "000000000000102")  # no copy at the board: no data held
    resident(world, "000000000000103", tokens=False)  # no 符号 at the city: refused
    resident(world, "000000000000104")  # not sent yet
    batch = open_batch(
        world,
        ["000000000000101", "000000000000102", "000000000000103", "000000000000104"],
        item=world.resident_item,
        provider=world.board,
    )
    assert batch_progress(batch).remaining == 4
    batch_send(batch_id=batch.pk, limit=3)
    progress = batch_progress(batch)
    assert (progress.sent, progress.answered, progress.held, progress.refused) == (3, 1, 1, 1)
    assert progress.remaining == 1
    refused = LinkageRequest.objects.get(batch=batch, status=LinkageStatus.REFUSED)
    assert refused.reason == "token_not_issued"


@pytest.mark.parametrize(
    ("whose", "change", "reason"),
    [
        ("other department", {}, "batch_other_department"),
        (
            "own",
            {"affair": "school", "item": "tax", "provider": "neighbour"},
            "batch_affair_mismatch",
        ),
        ("own", {"item": "resident_item", "provider": "board"}, "batch_route_mismatch"),
    ],
)
def test_a_batch_explains_only_its_own_departments_requests_of_its_route(
    world, whose, change, reason
):
    batch = open_batch(world, [WORLD_ADDRESSEE])
    operator = world.clerk
    if whose == "other department":
        operator = StaffFactory(
            department=DepartmentFactory(institution=world.mayor), affairs=[world.affair]
        )
    outcome = send_request(
        world, staff=operator, batch=batch, **{k: getattr(world, v) for k, v in change.items()}
    )
    assert outcome.request.status == LinkageStatus.REFUSED
    assert outcome.request.reason == reason
    assert outcome.message["ja"] and outcome.message["en"]
    [entry] = leaves("linkage.request")
    assert (entry["outcome"], entry["reason"], entry["batch"]) == (
        "refused",
        reason,
        str(batch.batch_id),
    )


def test_a_batch_of_the_own_department_and_route_explains_a_request(world):
    batch = open_batch(world, [WORLD_ADDRESSEE])
    outcome = send_request(world, batch=batch, request_id=uuid.uuid4())
    assert outcome.request.status == LinkageStatus.PROVIDED
    assert outcome.request.batch == batch


def test_the_task_sends_a_chunk_then_queues_the_rest(world, monkeypatch):
    numbers = [WORLD_ADDRESSEE] + [f"000000000000{n}" for n in range(101, 104)]
    for number in numbers[1:]:
        resident(world, number)
    batch = open_batch(world, numbers)
    monkeypatch.setattr(tasks, "BATCH_CHUNK", 3)
    queued: list = []
    monkeypatch.setattr(tasks.batch_send_task, "delay", queued.append)
    assert tasks.batch_send_task.apply(args=(batch.pk,)).get() == 1
    assert queued == [batch.pk]
    assert tasks.batch_send_task.apply(args=(batch.pk,)).get() == 0
    assert queued == [batch.pk]  # nothing more to queue
    assert LinkageRequest.objects.filter(batch=batch).count() == 4


def test_an_unreachable_job_queue_leaves_the_batch_to_resume(world, monkeypatch, caplog):
    batch = open_batch(world, [WORLD_ADDRESSEE])

    def down(*args):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.batch_send_task, "delay", down)
    with caplog.at_level(logging.WARNING, logger="agencies.tasks"):
        assert tasks.batch_send_enqueue(batch.pk) is False
    assert "not reachable" in caplog.text
    assert not LinkageRequest.objects.exists()
