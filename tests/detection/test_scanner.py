"""The incremental scanner: integrated entries after the watermark, read with parse_leaf; its
effect exactly once whatever happens (a crash mid-batch, a task delivered twice, two scanners
at once), the watermark moving in the same transaction as the alerts."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import OperationalError

from audit.entries import parse_leaf
from audit.ledger import ledger_append, ledger_integrate
from audit.models import LedgerEntry
from core.models import OutboxMessage
from detection import scanner
from detection.models import Access, Alert, AlertEntry, ScanWatermark
from detection.scanner import scan_run, scan_until_caught_up
from detection.tasks import scan_task
from tests.detection.helpers import OFFICE, at, clerk, request_entry, resident
from tests.support.events import TEST_EVENT
from tests.support.factories import PersonFactory

pytestmark = pytest.mark.usefixtures("clock")


def _traffic(world, n=12):
    """A clerk's night: every entry an off-hours finding of one alert, plus unexplained ones."""
    for i in range(n):
        request_entry(world, staff=world.clerk, person=PersonFactory(), moment=at(22, i))
    while ledger_integrate().integrated:
        pass


def _state():
    return (
        sorted(Alert.objects.values_list("dedupe_key", "entry_count")),
        sorted(AlertEntry.objects.values_list("alert__dedupe_key", "seq")),
        Access.objects.count(),
        OutboxMessage.objects.count(),
    )


def test_only_integrated_entries_are_read_and_the_watermark_follows(world):
    request_entry(world, staff=world.clerk, person=PersonFactory(), moment=at(22))
    assert scan_run().scanned == 0  # appended, not yet integrated by the sequencer
    ledger_integrate()
    result = scan_run()
    head = LedgerEntry.objects.order_by("-seq").first()
    assert result.scanned == 1 and result.last_seq == head.seq
    assert ScanWatermark.objects.get(name="default").last_seq == head.seq
    assert scan_run().scanned == 0


def test_entries_are_read_with_parse_leaf_and_others_passed_over(world, monkeypatch):
    read = []

    def counting(leaf):
        read.append(leaf)
        return parse_leaf(leaf)

    monkeypatch.setattr(scanner, "parse_leaf", counting)
    request_entry(world, staff=world.clerk, person=PersonFactory())
    ledger_append(event_type=TEST_EVENT, fields={"outcome": "provided"})
    ledger_integrate()
    assert scan_run().scanned == 2
    assert len(read) == 1  # the request; the other type is no rule's business


def test_batches_are_small_transactions_and_resume_where_they_ended(world):
    _traffic(world, n=12)
    seen = []
    while (result := scan_run(max_batch=5)).scanned:
        seen.append(result.scanned)
    assert seen == [5, 5, 2]
    [alert] = Alert.objects.filter(rule="behaviour.off_hours")
    assert alert.entry_count == 12  # one alert across the three batches


def test_a_crash_mid_batch_leaves_nothing_and_the_rerun_finds_everything(world, monkeypatch):
    _traffic(world)
    original = scanner._record

    def crash_after_writing(findings):
        original(findings)  # alerts, links and mails written in the transaction ...
        raise OperationalError("worker killed")  # ... then the worker dies before COMMIT

    monkeypatch.setattr(scanner, "_record", crash_after_writing)
    with pytest.raises(OperationalError):
        scan_run()
    assert _state() == ([], [], 0, 0)
    assert ScanWatermark.objects.get(name="default").last_seq == -1
    monkeypatch.setattr(scanner, "_record", original)
    scan_until_caught_up()
    after_restart = _state()
    assert after_restart[0] and after_restart[2] == 12
    # The same traffic scanned once without a crash gives the same alerts and entries.
    assert after_restart == _rescanned()


def _crowd(world, n):
    """n night requests of four clerks of one department on two terminals, every third about
    one person: off hours, bursts and shared terminals in one traffic; integrated."""
    staff = [clerk(world, department=world.clerk.department) for _ in range(4)]
    star = PersonFactory()
    for i in range(n):
        request_entry(
            world,
            staff=staff[i % 4],
            person=star if i % 3 == 0 else PersonFactory(),
            moment=at(22, i),
            terminal=f"T{i % 2}",
        )
    while ledger_integrate().integrated:
        pass


def _forget():
    """Empty what scans write (not the watermarks), to scan the same entries again."""
    from detection.models import StaffDay

    for model in (Alert, Access, StaffDay, OutboxMessage):
        model.objects.all().delete()


def _rescanned():
    """Scan the whole ledger again from the start under another watermark name, and describe
    the alerts that scan would have made (then undo it)."""
    sid = transaction.savepoint()
    _forget()
    scan_until_caught_up(name="control")
    state = _state()
    transaction.savepoint_rollback(sid)
    return state


def test_a_task_delivered_twice_has_the_effect_of_once(world, officers):
    _traffic(world)
    request_entry(
        world,
        staff=world.clerk,
        person=PersonFactory(),
        outcome="refused",
        reason="not_in_permitted_table",
    )  # high severity: a mail
    ledger_integrate()
    assert scan_task.apply().get() > 0
    first = _state()
    assert first[3] == 1  # the immediate mail, once
    assert scan_task.apply().get() == 0  # the same task again: nothing left to do
    assert _state() == first


def test_an_alert_is_opened_once_per_dedupe_key(world):
    _traffic(world, n=1)
    scan_until_caught_up()
    alert = Alert.objects.get(rule="behaviour.off_hours")
    alert_id, seq = alert.pk, alert.entries.get().seq
    alert.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        alert.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertEntry.objects.create(alert_id=alert_id, seq=seq, at=OFFICE, linked_at=OFFICE)


def test_a_new_person_is_indexed_on_the_way(world):
    """A subject pseudonym the index does not know yet (a person created since) is found."""
    person = resident(world)
    request_entry(world, staff=world.clerk, person=person, moment=at(22))
    ledger_integrate()
    scan_run()
    assert Access.objects.get().subject
    from detection.models import SubjectIndex

    assert SubjectIndex.objects.filter(person=person).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_scanners_at_once_neither_lose_nor_repeat(world, monkeypatch):
    """Two scanners (threads, each its own connection) race over the same entries: one holds
    the watermark, the other finds it locked and leaves; looping until caught up, together
    they make exactly the alerts one scanner makes."""
    _crowd(world, n=40)
    original = scanner._scan_batch

    def slow(rows, directory):
        time.sleep(0.2)  # keep the lock long enough for the other to meet it
        return original(rows, directory)

    monkeypatch.setattr(scanner, "_scan_batch", slow)
    barrier = threading.Barrier(2)
    busy = []

    def run():
        try:
            barrier.wait()
            while True:
                result = scan_run(max_batch=7)
                busy.append(result.busy)
                if not result.busy and result.scanned == 0:
                    return
                if result.busy:
                    time.sleep(0.05)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert any(busy)  # they did meet
    together = _state()
    assert together[2] == 40
    # The same entries scanned by one scanner, from the start, under another name.
    _forget()
    monkeypatch.setattr(scanner, "_scan_batch", original)
    scan_until_caught_up(name="control", max_batch=7)
    assert _state() == together


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_batches_read_ahead_are_the_batches_the_transaction_would_read(world, monkeypatch):
    """With a backlog, the next batch is read and parsed in a thread while one is judged; the
    alerts, links and observations are those of scanning batch by batch without it."""
    _crowd(world, n=23)
    taken = []
    original_take = scanner.EntryReader.take

    def take(self, after, limit):
        batch = original_take(self, after, limit)
        taken.append(batch is not None)
        return batch

    monkeypatch.setattr(scanner.EntryReader, "take", take)
    try:
        scan_until_caught_up(max_batch=5)
        assert any(taken)  # full batches came from the thread (a short last one never does)
        ahead = _state()
        assert ahead[2] == 23
        _forget()
        while scan_run(max_batch=5, name="control").scanned:
            pass
        assert _state() == ahead
    finally:
        connection.close()


def test_the_collector_runs_again_after_a_batch_even_one_that_failed(world, monkeypatch):
    import gc

    _traffic(world, n=2)

    def crash(findings):
        assert not gc.isenabled()  # paused while the batch is judged
        raise OperationalError("worker killed")

    monkeypatch.setattr(scanner, "_record", crash)
    with pytest.raises(OperationalError):
        scan_run()
    assert gc.isenabled()
