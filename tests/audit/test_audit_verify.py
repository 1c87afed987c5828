"""audit_verify finds and locates each kind of tampering done as the database owner."""

import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.db_guards import triggers_disabled
from audit.ledger import chain_next, latest_checkpoint, ledger_append, ledger_integrate
from audit.models import Checkpoint, LedgerEntry, LedgerIntake, MerkleSubtree
from audit.tlog.hashing import leaf_hash
from tests.support.events import TEST_EVENT


@pytest.fixture
def log(db):
    """A log of 40 entries integrated in batches of 7 (several checkpoints)."""
    for n in range(40):
        ledger_append(
            event_type=TEST_EVENT,
            fields={"request_id": str(uuid.UUID(int=n + 1, version=4)), "outcome": "provided"},
        )
    while ledger_integrate(max_batch=7).integrated:
        pass
    return latest_checkpoint()


def verify(*args):
    try:
        call_command("audit_verify", *args)
    except CommandError as exc:
        return str(exc)
    return "OK"


def entry(seq):
    return LedgerEntry.objects.select_related("intake").get(seq=seq)


def test_clean_log_verifies(log, capsys):
    assert verify() == "OK"
    assert "entries 0..39 verified" in capsys.readouterr().out
    assert verify("--from", "17") == "OK"


def test_changed_payload(log):
    with triggers_disabled(connection):
        intake = entry(12).intake
        LedgerIntake.objects.filter(pk=intake.pk).update(
            leaf=intake.leaf.replace("provided", "refused")
        )
    assert (
        verify() == "FAILED: seq 12: payload: leaf bytes changed: they no longer hash to "
        "the recorded leaf hash"
    )


def test_changed_leaf_hash(log):
    with triggers_disabled(connection):
        LedgerEntry.objects.filter(seq=20).update(leaf_hash=b"\x01" * 32)
    assert verify().startswith("FAILED: seq 20: leaf_hash")


def test_changed_chain_hash(log):
    with triggers_disabled(connection):
        LedgerEntry.objects.filter(seq=33).update(chain_hash=b"\x02" * 32)
    assert verify().startswith("FAILED: seq 33: chain")


def test_deleted_row(log):
    with triggers_disabled(connection):
        LedgerEntry.objects.filter(seq=8).delete()
    assert verify().startswith("FAILED: seq 8: missing")


def test_swapped_rows(log):
    a, b = entry(5), entry(6)
    with triggers_disabled(connection):
        LedgerEntry.objects.filter(seq__in=[5, 6]).delete()
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    seq=5,
                    intake_id=b.intake_id,
                    leaf_hash=a.leaf_hash,
                    chain_hash=a.chain_hash,
                    integrated_at=a.integrated_at,
                ),
                LedgerEntry(
                    seq=6,
                    intake_id=a.intake_id,
                    leaf_hash=b.leaf_hash,
                    chain_hash=b.chain_hash,
                    integrated_at=b.integrated_at,
                ),
            ]
        )
    assert verify().startswith("FAILED: seq 5: out_of_order")


def rewrite_entry_15_recomputing_entry_hashes():
    """What a forger with the owner's rights does: change entry 15's payload, then recompute
    its leaf hash and every chain hash from it on, so the chain alone looks intact."""
    intake = entry(15).intake
    LedgerIntake.objects.filter(pk=intake.pk).update(
        leaf=intake.leaf.replace("provided", "refused")
    )
    chain = bytes(entry(14).chain_hash)
    for row in LedgerEntry.objects.select_related("intake").filter(seq__gte=15).order_by("seq"):
        lh = leaf_hash(row.intake.leaf.encode())
        chain = chain_next(chain, lh)
        LedgerEntry.objects.filter(seq=row.seq).update(leaf_hash=lh, chain_hash=chain)


def test_forged_row_with_recomputed_hashes(log):
    """The forger rewrites entry 15 and recomputes every leaf and chain hash from it on."""
    with triggers_disabled(connection):
        rewrite_entry_15_recomputing_entry_hashes()
    # Entries 14 and 15 share the smallest stored subtree; the log locates the pair.
    assert verify().startswith(
        "FAILED: seq 14: subtree: stored hash of subtree level 1 #7 differs: entry 14 or 15"
    )


def test_forged_row_with_every_hash_recomputed_is_caught_by_the_signed_root(log):
    with triggers_disabled(connection):
        rewrite_entry_15_recomputing_entry_hashes()
        # ... and every subtree hash above it.
        from audit.tlog.merkle import MerkleFrontier

        frontier = MerkleFrontier()
        for lh in LedgerEntry.objects.order_by("seq").values_list("leaf_hash", flat=True):
            for c in frontier.append(bytes(lh)):
                MerkleSubtree.objects.filter(last_seq=c.end - 1, level=c.level).update(hash=c.hash)
    message = verify()
    assert message.startswith("FAILED: seq 14: checkpoint: signed checkpoint 21")
    assert "14..20" in message


def test_truncated_tail_against_a_saved_checkpoint(log, tmp_path):
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(log.note)
    assert verify("--checkpoint", str(saved)) == "OK"
    with triggers_disabled(connection):
        LedgerEntry.objects.filter(seq__gte=35).delete()
        MerkleSubtree.objects.filter(last_seq__gte=35).delete()
        Checkpoint.objects.filter(size__gt=35).delete()
    assert verify() == "OK"  # consistent with what is left ...
    assert verify("--checkpoint", str(saved)).startswith(
        "FAILED: seq 35: truncated: saved checkpoint 40 covers 40 entries but the log has 35"
    )


def test_forged_checkpoint_signature(log):
    with triggers_disabled(connection):
        Checkpoint.objects.filter(size=log.size).update(note=log.note.replace("\n\n", "\n\n "))
    assert verify().startswith("FAILED: checkpoint 40")


def test_bad_arguments(log, tmp_path):
    assert verify("--from", "-1") == "--from must be 0 or more"
    assert verify("--checkpoint", str(tmp_path / "nope")).startswith("cannot read")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_ranges_verify_and_locate_damage():
    """--jobs splits the log into ranges verified by separate processes (committed data)."""
    for n in range(60):
        ledger_append(
            event_type=TEST_EVENT,
            fields={"request_id": str(uuid.UUID(int=n + 1, version=4)), "outcome": "provided"},
        )
    while ledger_integrate(max_batch=9).integrated:
        pass
    assert verify("--jobs", "3") == "OK"
    with triggers_disabled(connection):
        LedgerEntry.objects.filter(seq=47).update(chain_hash=b"\x02" * 32)
        LedgerEntry.objects.filter(seq=52).update(leaf_hash=b"\x03" * 32)
    assert verify("--jobs", "3").startswith("FAILED: seq 47: chain")
