"""audit_verify names rewritten history and forks exactly, serially and with --jobs.

Each test damages a committed log as the database owner would (the append-only triggers taken
down) and checks the whole FAILED line, once serially and once or more with parallel ranges:
verify_log cuts a log of n entries into `jobs` ranges of ceil(n / jobs) entries, so a log of
40 entries with --jobs 2 is checked as [0, 20) and [20, 40).
"""

import base64
import uuid

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from audit.db_guards import triggers_disabled
from audit.ledger import chain_genesis, chain_next, ledger_append, ledger_integrate, log_signer
from audit.models import Checkpoint, LedgerEntry, LedgerIntake, MerkleSubtree
from audit.tlog.checkpoint import Checkpoint as CheckpointBody
from audit.tlog.hashing import leaf_hash
from audit.tlog.merkle import MerkleFrontier
from audit.tlog.note import sign_note
from tests.support.events import TEST_EVENT


def build_log(batches):
    """Append sum(batches) entries and integrate them batch by batch: one signed checkpoint at
    each running total."""
    for n in range(sum(batches)):
        ledger_append(
            event_type=TEST_EVENT,
            fields={"request_id": str(uuid.UUID(int=n + 1, version=4)), "outcome": "provided"},
        )
    for batch in batches:
        assert ledger_integrate(max_batch=batch).integrated == batch


def verify(*args):
    try:
        call_command("audit_verify", *args)
    except CommandError as exc:
        return str(exc)
    return "OK"


def verify_serial_and_parallel(*args, jobs=(2,)):
    """The FAILED line of a serial run, after checking every parallel run gives the same."""
    serial = verify(*args)
    for n in jobs:
        assert verify(*args, "--jobs", str(n)) == serial, f"--jobs {n} disagrees"
    return serial


def stored_chain_before(seq):
    if seq == 0:
        return chain_genesis(settings.AUDIT_LOG_ORIGIN)
    return bytes(LedgerEntry.objects.get(seq=seq - 1).chain_hash)


def change_payload(seq):
    intake = LedgerEntry.objects.select_related("intake").get(seq=seq).intake
    LedgerIntake.objects.filter(pk=intake.pk).update(
        leaf=intake.leaf.replace("provided", "refused")
    )


def forge_entry_with_its_own_hashes(seq):
    """Rewrite entry seq's payload and only that row's leaf and chain hashes, consistently with
    the forged leaf and the chain before it; nothing else is touched."""
    change_payload(seq)
    leaf = LedgerEntry.objects.select_related("intake").get(seq=seq).intake.leaf
    forged_leaf_hash = leaf_hash(leaf.encode())
    LedgerEntry.objects.filter(seq=seq).update(
        leaf_hash=forged_leaf_hash,
        chain_hash=chain_next(stored_chain_before(seq), forged_leaf_hash),
    )


def rewrite_history_from(seq):
    """Rewrite entry seq's payload, then recompute every leaf and chain hash from it on and
    every stored Merkle subtree: only the signed checkpoints still tell."""
    change_payload(seq)
    chain = stored_chain_before(seq)
    for row in LedgerEntry.objects.select_related("intake").filter(seq__gte=seq).order_by("seq"):
        forged_leaf_hash = leaf_hash(row.intake.leaf.encode())
        chain = chain_next(chain, forged_leaf_hash)
        LedgerEntry.objects.filter(seq=row.seq).update(leaf_hash=forged_leaf_hash, chain_hash=chain)
    frontier = MerkleFrontier()
    for lh in LedgerEntry.objects.order_by("seq").values_list("leaf_hash", flat=True):
        for subtree in frontier.append(bytes(lh)):
            if subtree.level:
                MerkleSubtree.objects.filter(last_seq=subtree.end - 1, level=subtree.level).update(
                    hash=subtree.hash
                )


def b64(root):
    return base64.b64encode(root).decode()


# --- (a) history rewritten with every hash recomputed, across a range boundary ----------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_history_rewritten_before_a_range_start_is_blamed_on_the_signed_checkpoints():
    """Checkpoints at 9, 17, 23, 32, 40; entry 17 rewritten with every later hash and subtree
    recomputed. Signed checkpoint 17 still matches, 23 no longer does: the entry is in 17..22,
    which straddles the boundary 20 of two and of four ranges. Each range is consistent in
    itself (it starts from the recomputed chain and frontier); only the signed roots tell."""
    build_log([9, 8, 6, 9, 8])
    with triggers_disabled(connection):
        rewrite_history_from(17)
    assert verify_serial_and_parallel(jobs=(2, 3, 4)) == (
        "FAILED: seq 17: checkpoint: signed checkpoint 23 does not match the tree recomputed "
        "from the entries, signed checkpoint 17 does: an entry in 17..22 was rewritten with "
        "every later hash recomputed"
    )


# --- (b) a saved checkpoint re-signed over another tree, for a size that is stored ------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "other_root", [bytes(32), b"\xff" * 32], ids=["sorts-before-the-stored", "sorts-after"]
)
def test_a_saved_checkpoint_with_another_root_for_a_stored_size_is_a_fork(tmp_path, other_root):
    """The log's key signed two roots for size 21: a fork, named with both roots, whichever of
    the two a verifier happens to compare first (the roots' bytes order them)."""
    build_log([7, 7, 7, 7, 7, 5])
    stored_root = bytes(Checkpoint.objects.get(size=21).root_hash)
    body = CheckpointBody(settings.AUDIT_LOG_ORIGIN, 21, other_root).to_text()
    saved = tmp_path / "checkpoint-21.txt"
    saved.write_text(sign_note(body, [log_signer()]))
    assert verify_serial_and_parallel("--checkpoint", str(saved)) == (
        f"FAILED: fork: the log key signed two different roots for size 21: "
        f"{b64(stored_root)} (signed checkpoint 21) and {b64(other_root)} (saved checkpoint 21); "
        "the stored entries reproduce signed checkpoint 21"
    )


# --- (c) one entry forged with only its own hashes recomputed ---------------------------------


def rewritten_message(seq):
    pair = f"level 1 #{seq // 2} (entries {seq - seq % 2}..{seq - seq % 2 + 1})"
    return (
        f"FAILED: seq {seq}: rewritten: entry {seq} was replaced, with its leaf and chain hashes "
        f"recomputed: entry {seq + 1}'s chain hash and the stored subtree {pair} still commit "
        "to the entry it replaced"
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("size", "forged"),
    [
        (41, 12),  # inside the first of two ranges [0, 21) and [21, 41)
        (41, 20),  # the first range's last entry: its pair (20, 21) closes in the next range
        (40, 15),  # odd: its pair (14, 15) closes with it, the chain breaks at 16
        (40, 19),  # odd, the first range's last entry of [0, 20): the chain breaks at 20
    ],
)
def test_an_entry_forged_with_its_own_hashes_is_named_itself(size, forged):
    build_log([7] * (size // 7) + [size % 7])
    with triggers_disabled(connection):
        forge_entry_with_its_own_hashes(forged)
    assert verify_serial_and_parallel(jobs=(2,)) == rewritten_message(forged)


# --- the same, serially, on either database (SQLite verifies in one pass) ---------------------


@pytest.mark.parametrize("forged", [12, 15])
def test_serially_an_entry_forged_with_its_own_hashes_is_named_itself(db, forged):
    build_log([7] * 5 + [5])
    with triggers_disabled(connection):
        forge_entry_with_its_own_hashes(forged)
    assert verify() == rewritten_message(forged)


def test_serially_history_rewritten_with_every_hash_recomputed_is_located(db):
    build_log([9, 8, 6, 9, 8])
    with triggers_disabled(connection):
        rewrite_history_from(17)
    assert verify().startswith(
        "FAILED: seq 17: checkpoint: signed checkpoint 23 does not match the tree recomputed "
        "from the entries, signed checkpoint 17 does: an entry in 17..22 was rewritten"
    )


def test_serially_a_saved_checkpoint_with_another_root_for_a_stored_size_is_a_fork(db, tmp_path):
    build_log([7] * 5 + [5])
    stored_root = bytes(Checkpoint.objects.get(size=28).root_hash)
    body = CheckpointBody(settings.AUDIT_LOG_ORIGIN, 28, bytes(32)).to_text()
    saved = tmp_path / "checkpoint-28.txt"
    saved.write_text(sign_note(body, [log_signer()]))
    assert verify("--checkpoint", str(saved)) == (
        f"FAILED: fork: the log key signed two different roots for size 28: "
        f"{b64(stored_root)} (signed checkpoint 28) and {b64(bytes(32))} (saved checkpoint 28); "
        "the stored entries reproduce signed checkpoint 28"
    )


def test_serially_a_saved_checkpoint_that_a_later_signed_tree_contradicts_is_a_fork(db, tmp_path):
    """Size 25 was never stored; its saved root is not the first 25 entries' root, while the
    signed checkpoints after it match the entries: the key signed two histories."""
    build_log([7] * 5 + [5])
    body = CheckpointBody(settings.AUDIT_LOG_ORIGIN, 25, bytes(32)).to_text()
    saved = tmp_path / "checkpoint-25.txt"
    saved.write_text(sign_note(body, [log_signer()]))
    assert verify("--checkpoint", str(saved)).startswith(
        f"FAILED: fork: the log key signed {b64(bytes(32))} for size 25 (saved checkpoint 25) and "
    )


# --- every kind of damage, on either side of a range boundary -----------------------------------


def swap_with_next(seq):
    a, b = (LedgerEntry.objects.get(seq=s) for s in (seq, seq + 1))
    LedgerEntry.objects.filter(seq__in=[seq, seq + 1]).delete()
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                seq=seq,
                intake_id=b.intake_id,
                leaf_hash=a.leaf_hash,
                chain_hash=a.chain_hash,
                integrated_at=a.integrated_at,
            ),
            LedgerEntry(
                seq=seq + 1,
                intake_id=a.intake_id,
                leaf_hash=b.leaf_hash,
                chain_hash=b.chain_hash,
                integrated_at=b.integrated_at,
            ),
        ]
    )


# kind -> (damage it, the seq and kind audit_verify must name for damage at seq k)
DAMAGE = {
    "payload": (change_payload, lambda k: (k, "payload")),
    "leaf_hash": (
        lambda k: LedgerEntry.objects.filter(seq=k).update(leaf_hash=b"\x01" * 32),
        lambda k: (k, "leaf_hash"),
    ),
    "chain": (
        lambda k: LedgerEntry.objects.filter(seq=k).update(chain_hash=b"\x02" * 32),
        lambda k: (k, "chain"),
    ),
    "deleted": (lambda k: LedgerEntry.objects.filter(seq=k).delete(), lambda k: (k, "missing")),
    "swapped": (swap_with_next, lambda k: (k, "out_of_order")),
    "own_hashes": (forge_entry_with_its_own_hashes, lambda k: (k, "rewritten")),
    "all_recomputed": (rewrite_history_from, lambda k: (k - k % 7, "checkpoint")),
    "pair_node": (
        lambda k: MerkleSubtree.objects.filter(last_seq=k | 1, level=1).update(hash=bytes(32)),
        lambda k: (k - k % 2, "subtree"),
    ),
}


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", sorted(DAMAGE))
@pytest.mark.parametrize("seq", [20, 21, 22])
def test_serial_and_parallel_name_the_same_damage_at_a_range_boundary(kind, seq):
    """42 entries, checkpoints every 7: --jobs 2 cuts at 21 (20 ends a range, 21 starts one),
    --jobs 4 at 11, 22 and 33 (21 ends a range, 22 starts one)."""
    build_log([7] * 6)
    damage, expected = DAMAGE[kind]
    with triggers_disabled(connection):
        damage(seq)
    message = verify_serial_and_parallel(jobs=(2, 4))
    named_seq, named_kind = expected(seq)
    assert message.startswith(f"FAILED: seq {named_seq}: {named_kind}: ")
