"""verify_log's progress callback (the dashboard's progress bar), the integration delay's
selector and the witness-refusal signal: what the ledger offers the layers above it."""

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit import verification
from audit.db_guards import triggers_disabled
from audit.ledger import ledger_append, ledger_integrate, log_signer
from audit.models import LedgerIntake
from audit.selectors import oldest_pending_intake
from audit.signals import witness_refused
from audit.tlog.checkpoint import Checkpoint as CheckpointBody
from audit.tlog.note import sign_note
from audit.tlog.witness import WitnessRefusal
from audit.verification import verify_log
from audit.witnessing import witness_run
from tests.support.events import TEST_EVENT


def append(n, start=0):
    for i in range(start, start + n):
        ledger_append(
            event_type=TEST_EVENT,
            fields={"request_id": str(uuid.UUID(int=i + 1, version=4)), "outcome": "provided"},
        )


@pytest.fixture
def log(db):
    append(45)
    while ledger_integrate(max_batch=10).integrated:
        pass


def test_progress_counts_up_to_the_whole_log_and_changes_no_verdict(log, monkeypatch):
    monkeypatch.setattr(verification, "_FETCH", 10)  # PostgreSQL's fast path, per batch
    monkeypatch.setattr(verification, "_PROGRESS_EVERY", 10)  # the replayer (SQLite)
    calls = []
    report = verify_log(progress=lambda done, total: calls.append((done, total)))
    assert report.ok
    assert calls[-1] == (45, 45)
    assert len(calls) >= 4  # along the way, not only at the end
    assert all(total == 45 and 0 < done <= 45 for done, total in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    # From a later entry, progress counts the entries of this pass.
    calls.clear()
    assert verify_log(first_seq=20, progress=lambda d, t: calls.append((d, t))).ok
    assert calls[-1] == (25, 25)


def test_progress_still_ends_at_the_total_when_damage_is_found(log, monkeypatch):
    monkeypatch.setattr(verification, "_FETCH", 10)
    with triggers_disabled(connection):
        intake = LedgerIntake.objects.get(entry__seq=30)
        LedgerIntake.objects.filter(pk=intake.pk).update(
            leaf=intake.leaf.replace("provided", "refused")
        )
    calls = []
    report = verify_log(progress=lambda done, total: calls.append((done, total)))
    assert report.damage is not None and report.damage.seq == 30
    assert report.damage.kind == "payload"
    assert calls[-1] == (45, 45)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_progress_with_parallel_ranges():
    append(45)
    while ledger_integrate(max_batch=10).integrated:
        pass
    calls = []
    report = verify_log(jobs=3, progress=lambda done, total: calls.append((done, total)))
    assert report.ok
    assert [d for d, _ in calls] == [15, 30, 45, 45]


def test_oldest_pending_intake_is_the_integration_delay(db):
    assert oldest_pending_intake() is None
    append(3)
    ledger_integrate()
    assert oldest_pending_intake() is None  # all integrated
    first = timezone.now() - dt.timedelta(seconds=42)
    ledger_append(event_type=TEST_EVENT, fields={"request_id": str(uuid.uuid4())}, moment=first)
    append(2, start=100)
    pending = oldest_pending_intake()
    assert pending is not None
    assert abs((pending - first).total_seconds()) < 0.001
    ledger_integrate()
    assert oldest_pending_intake() is None


def test_a_witness_refusal_is_signalled_with_the_shown_size(db, tmp_path):
    append(3)
    ledger_integrate()
    directory = tmp_path / "witness"
    witness_run(directory=directory)
    heard = []

    def receiver(sender, **kwargs):
        heard.append(kwargs)

    witness_refused.connect(receiver)
    try:
        # The log key signs another tree of the same size: a fork the witness must refuse.
        body = CheckpointBody(settings.AUDIT_LOG_ORIGIN, 3, b"\x01" * 32)
        forged = sign_note(body.to_text(), [log_signer()])
        with pytest.raises(WitnessRefusal):
            witness_run(directory=directory, signed_note=forged)
    finally:
        witness_refused.disconnect(receiver)
    assert len(heard) == 1
    assert heard[0]["size"] == 3
    assert heard[0]["witness"] == "witness.yaritori.invalid"
    assert heard[0]["reason"]
