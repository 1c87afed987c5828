"""一括照会 on the staff pages: a department opens a batch query, which sends in the background
and shows its progress; another department neither sees nor resumes it."""

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client
from kombu.exceptions import OperationalError

from agencies import tasks
from agencies.batches import batch_send
from agencies.models import AddresseeNumber, Batch, LinkageRequest, LinkageStatus
from audit.models import LedgerIntake
from tests.support.factories import (
    WORLD_ADDRESSEE,
    DepartmentFactory,
    PersonFactory,
    StaffFactory,
    issue_token,
    my_number_for,
)

NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)
FULL_WIDTH_101 = "000000000000101".translate(str.maketrans("0123456789", "０１２３４５６７８９"))


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def queue(monkeypatch):
    """The job queue, run at once: each queued batch is sent in full right away."""
    queued = []

    def run(batch_id):
        queued.append(batch_id)
        batch_send(batch_id=batch_id)

    monkeypatch.setattr(tasks.batch_send_task, "delay", run)
    return queued


def client_for(staff, language="ja"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(staff.user)
    return client


def residents(world, *numbers, tokens=True):
    for number in numbers:
        person = PersonFactory()
        AddresseeNumber.objects.create(organization=world.city, person=person, number=number)
        if tokens:
            issue_token(world.mayor, person)


def pension_route(world):
    return f"{world.affair.pk}:{world.pension_item.pk}:{world.pension.pk}"


def test_a_department_opens_a_batch_which_sends_and_shows_its_progress(
    world, queue, django_capture_on_commit_callbacks
):
    residents(world, "000000000000101")
    residents(world, "000000000000102", tokens=False)  # refused: no 符号 at the city
    client = client_for(world.clerk)
    assert "一括照会" in client.get("/staff/").content.decode()  # in the menu
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/staff/batches/new/",
            {
                "route": pension_route(world),
                "purpose": "status_check",
                # Full-width digits, blank space and a trailing newline, as pasted.
                "subjects": f"{WORLD_ADDRESSEE}\n{FULL_WIDTH_101} \n000000000000102\n",
            },
        )
    batch = Batch.objects.get()
    assert response["Location"] == f"/staff/batches/{batch.pk}/"
    assert queue == [batch.pk]
    assert batch.subjects == [WORLD_ADDRESSEE, "000000000000101", "000000000000102"]
    opened = json.loads(LedgerIntake.objects.filter(event_type="batch.opened").get().leaf)
    assert (opened["purpose"], opened["subjects"]) == ("status_check", "3")
    statuses = sorted(LinkageRequest.objects.filter(batch=batch).values_list("status", flat=True))
    assert statuses == ["not_found", "provided", "refused"]
    page = client.get(response["Location"]).content.decode()
    for label, value in [("送信済み", "3 / 3"), ("回答済み", "2"), ("拒否", "1"), ("未送信", "0")]:
        assert f"<dt>{label}</dt><dd>{value}</dd>" in page
    assert "符号が未取得です。" in page  # the refusal in words
    assert "token_not_issued" not in page
    listing = client.get("/staff/batches/").content.decode()
    assert f"/staff/batches/{batch.pk}/" in listing and "現況確認" in listing


def test_the_list_is_checked_before_anything_is_opened(world, queue):
    client = client_for(world.clerk, "en")
    unknown = client.post(
        "/staff/batches/new/",
        {"route": pension_route(world), "purpose": "status_check", "subjects": "999\n12ab"},
    )
    assert unknown.status_code == 400
    assert "Lines 2: an addressee number is 1 to 15 digits." in unknown.content.decode()
    unknown = client.post(
        "/staff/batches/new/",
        {"route": pension_route(world), "purpose": "status_check", "subjects": "999"},
    )
    assert "Lines 1: no resident of your organisation" in unknown.content.decode()
    # A column of My Numbers pasted by mistake: refused, and not shown back.
    pasted = client.post(
        "/staff/batches/new/",
        {
            "route": pension_route(world),
            "purpose": "status_check",
            "subjects": f"{WORLD_ADDRESSEE}\n{my_number_for(1)}",
        },
    )
    assert pasted.status_code == 400
    assert "Lines 2 look like My Numbers" in pasted.content.decode()
    assert my_number_for(1) not in pasted.content.decode()
    forged = client.post(
        "/staff/batches/new/",
        {
            "route": f"{world.affair.pk}:{world.tax.pk}:{world.pension.pk}",  # expired in 2019
            "purpose": "status_check",
            "subjects": WORLD_ADDRESSEE,
        },
    )
    assert forged.status_code == 400
    assert not Batch.objects.exists()
    assert not LedgerIntake.objects.exists()
    assert queue == []


def test_another_department_neither_sees_nor_resumes_a_batch(world, queue):
    from agencies.batches import batch_open

    batch = batch_open(
        staff=world.clerk,
        affair=world.affair,
        item=world.pension_item,
        provider=world.pension,
        purpose="status_check",
        addressee_numbers=[WORLD_ADDRESSEE],
    )
    other = StaffFactory(
        department=DepartmentFactory(institution=world.mayor), affairs=[world.affair]
    )
    client = client_for(other)
    assert f"/staff/batches/{batch.pk}/" not in client.get("/staff/batches/").content.decode()
    assert client.get(f"/staff/batches/{batch.pk}/").status_code == 404
    assert client.post(f"/staff/batches/{batch.pk}/resume/").status_code == 404
    assert queue == []
    assert not LinkageRequest.objects.exists()


def test_a_stopped_batch_is_resumed_from_its_page(world, queue, django_capture_on_commit_callbacks):
    from agencies.batches import batch_open

    residents(world, "000000000000101", "000000000000102")
    batch = batch_open(
        staff=world.clerk,
        affair=world.affair,
        item=world.pension_item,
        provider=world.pension,
        purpose="status_check",
        addressee_numbers=[WORLD_ADDRESSEE, "000000000000101", "000000000000102"],
    )
    batch_send(batch_id=batch.pk, limit=1)  # the worker stopped after one
    client = client_for(world.clerk)
    page = client.get(f"/staff/batches/{batch.pk}/").content.decode()
    assert "<dt>未送信</dt><dd>2</dd>" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/staff/batches/{batch.pk}/resume/")
    assert queue == [batch.pk]
    assert LinkageRequest.objects.filter(batch=batch).count() == 3
    page = client.get(f"/staff/batches/{batch.pk}/").content.decode()
    assert "<dt>未送信</dt><dd>0</dd>" in page
    assert f"/staff/batches/{batch.pk}/resume/" not in page  # nothing left to resume


@pytest.mark.django_db(transaction=True)  # the queue is asked once the batch is committed
def test_a_queue_that_cannot_be_reached_is_said_and_the_batch_kept(world, monkeypatch):
    def down(batch_id):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.batch_send_task, "delay", down)
    client = client_for(world.clerk)
    response = client.post(
        "/staff/batches/new/",
        {"route": pension_route(world), "purpose": "status_check", "subjects": WORLD_ADDRESSEE},
    )
    assert Batch.objects.count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "送信を開始できませんでした" in page
    assert not LinkageRequest.objects.filter(status=LinkageStatus.PROVIDED).exists()
