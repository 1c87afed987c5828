"""The ledger: append, integrate, chain, tree, checkpoints and proofs."""

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.db import transaction

from audit.entries import EntryFieldError
from audit.ledger import (
    chain_genesis,
    chain_next,
    consistency_proof_between,
    inclusion_proof_for,
    latest_checkpoint,
    ledger_append,
    ledger_integrate,
    log_verifier,
    receipt_for,
)
from audit.models import Checkpoint, LedgerEntry, LedgerIntake
from audit.tlog.checkpoint import Checkpoint as CheckpointBody
from audit.tlog.errors import ProofError
from audit.tlog.hashing import leaf_hash
from audit.tlog.merkle import root_from_leaf_hashes, verify_consistency, verify_inclusion
from audit.tlog.note import open_note
from audit.tlog.receipt import verify_receipt
from tests.support.events import TEST_EVENT

FIELDS = {
    "requester": "0110020000000001",
    "provider": "1300010000000002",
    "affair": "JT01010000000214",
    "item": "TM00000000000002",
    "outcome": "provided",
}


def append(n, **extra):
    for _ in range(n):
        ledger_append(
            event_type=TEST_EVENT,
            fields={**FIELDS, "request_id": str(uuid.uuid4()), **extra},
        )


@pytest.mark.django_db
def test_append_is_part_of_the_callers_transaction():
    def caller():
        with transaction.atomic():
            append(1)
            raise RuntimeError("the caller fails after appending")

    with pytest.raises(RuntimeError):
        caller()
    assert LedgerIntake.objects.count() == 0


@pytest.mark.django_db
def test_leaf_is_canonical_json_with_codes_only():
    moment = dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.UTC)
    row = ledger_append(event_type=TEST_EVENT, fields=FIELDS, moment=moment)
    assert row.leaf == (
        '{"affair":"JT01010000000214","item":"TM00000000000002","outcome":"provided",'
        '"provider":"1300010000000002","requester":"0110020000000001",'
        '"time":"2026-06-01T09:30:00.000000Z","type":"ledger.test","v":1}'
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"name": "山田太郎"},
        {"case": "983205673214"},
        {"subject": "983205673214"},
        {"requester": "13000"},
    ],
)
def test_fields_outside_the_schema_are_refused_without_echo(fields):
    with pytest.raises(EntryFieldError) as exc:
        ledger_append(event_type=TEST_EVENT, fields=fields)
    assert "983205673214" not in str(exc.value) and "山田" not in str(exc.value)
    assert LedgerIntake.objects.count() == 0


@pytest.mark.django_db
def test_integrate_chains_and_signs():
    append(5)
    result = ledger_integrate()
    assert (result.integrated, result.size) == (5, 5)
    entries = list(LedgerEntry.objects.select_related("intake").order_by("seq"))
    assert [e.seq for e in entries] == [0, 1, 2, 3, 4]
    chain = chain_genesis(settings.AUDIT_LOG_ORIGIN)
    hashes = []
    for entry in entries:
        hashes.append(leaf_hash(entry.intake.leaf.encode()))
        chain = chain_next(chain, hashes[-1])
        assert bytes(entry.leaf_hash) == hashes[-1]
        assert bytes(entry.chain_hash) == chain
    checkpoint = latest_checkpoint()
    text, _ = open_note(checkpoint.note, [log_verifier()])
    body = CheckpointBody.parse(text)
    assert body.size == 5 and body.origin == settings.AUDIT_LOG_ORIGIN
    assert body.root_hash == root_from_leaf_hashes(hashes) == bytes(checkpoint.root_hash)
    # Nothing new: nothing integrated, no new checkpoint.
    assert ledger_integrate().integrated == 0
    assert Checkpoint.objects.count() == 1


@pytest.mark.django_db
def test_proofs_from_the_store_verify_across_batches():
    roots = {}
    for batch in [1, 2, 5, 8, 1, 13]:
        append(batch)
        cp = ledger_integrate(max_batch=7).checkpoint
        while cp is not None:
            roots[cp.size] = bytes(cp.root_hash)
            cp = ledger_integrate(max_batch=7).checkpoint
    sizes = sorted(roots)
    assert sizes[-1] == 30
    leaf_hashes = [
        bytes(h) for h in LedgerEntry.objects.order_by("seq").values_list("leaf_hash", flat=True)
    ]
    for size in sizes:
        assert roots[size] == root_from_leaf_hashes(leaf_hashes[:size])
        for seq in range(size):
            verify_inclusion(
                seq, size, leaf_hashes[seq], inclusion_proof_for(seq, size), roots[size]
            )
    for old in sizes:
        for new in sizes:
            if old <= new:
                verify_consistency(
                    old, new, roots[old], roots[new], consistency_proof_between(old, new)
                )


@pytest.mark.django_db
def test_receipt_verifies_offline_and_fails_when_tampered():
    append(6)
    ledger_integrate()
    receipt = receipt_for(3)
    verified = verify_receipt(receipt, None, log_verifier(), origin=settings.AUDIT_LOG_ORIGIN)
    assert verified.index == 3 and verified.checkpoint.size == 6
    assert b'"type":"ledger.test"' in verified.leaf
    with pytest.raises(ValueError):
        verify_receipt(receipt, verified.leaf.replace(b"provided", b"refused_x"), log_verifier())


@pytest.mark.django_db
def test_no_receipt_before_the_entry_is_sequenced():
    """An appended entry has a receipt only once the sequencer has put it under a checkpoint."""
    append(1)
    with pytest.raises(LedgerEntry.DoesNotExist):
        receipt_for(0)
    ledger_integrate()
    assert "index 0" in receipt_for(0)
    append(1)
    with pytest.raises(LedgerEntry.DoesNotExist):
        receipt_for(1)


@pytest.mark.django_db
def test_refuses_to_sign_a_checkpoint_inconsistent_with_the_last(monkeypatch):
    append(3)
    ledger_integrate()
    # Pretend an earlier, different tree was signed at size 3 (a forked history).
    from django.db import connection

    from audit.db_guards import triggers_disabled

    with triggers_disabled(connection):
        Checkpoint.objects.filter(size=3).update(root_hash=b"\x00" * 32)
    append(2)
    with pytest.raises(ProofError):
        ledger_integrate()
    assert Checkpoint.objects.count() == 1
    assert LedgerEntry.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_sequencer_reads_pending_intake_from_its_index_position():
    """Finding the pending entries must start where the last integrated one is in the
    (txid, id) index, not filter every integrated row: that cost grows with the log."""
    from django.db import connection

    from audit.ledger import _PENDING_SQL

    append(300)
    ledger_integrate()
    append(5)
    head = LedgerEntry.objects.select_related("intake").order_by("-seq").first()
    with connection.cursor() as cursor:
        # A tiny table: make an ordered index scan the plan, as it is on a large log.
        for method in ("seqscan", "bitmapscan", "sort"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + _PENDING_SQL,
            [head.intake.txid, head.intake.id, 2**62, 100],
        )
        plan = cursor.fetchone()[0]
    scan = plan[0]["Plan"]["Plans"][0]
    assert scan["Node Type"] == "Index Scan"
    assert "ROW(txid, id) >" in scan["Index Cond"]
    assert scan.get("Rows Removed by Filter", 0) == 0
    assert scan["Actual Rows"] == 5
