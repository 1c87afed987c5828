"""Verifying the stored log: stream every row, recompute chain and tree, check checkpoints.

The pure replay logic is audit.tlog.replay (runnable offline); this module feeds it from the
database with server-side cursors so memory stays flat however long the log is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction

from audit.ledger import chain_genesis, log_verifier
from audit.models import Checkpoint, LedgerEntry, MerkleSubtree
from audit.tlog.checkpoint import Checkpoint as CheckpointBody
from audit.tlog.errors import TlogError
from audit.tlog.merkle import MerkleFrontier, aligned_subtrees, subtree_coordinates
from audit.tlog.note import open_note
from audit.tlog.replay import Damage, LogReplayer

_CHUNK = 10_000


@dataclass
class VerificationReport:
    """Outcome of verify_log: how far it got and the first damage found, if any."""

    first_seq: int
    size: int
    checkpoints_checked: int = 0
    damage: Damage | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.damage is None


def _signed_checkpoint(note: str, label: str) -> CheckpointBody:
    try:
        text, _ = open_note(note, [log_verifier()])
        body = CheckpointBody.parse(text)
    except TlogError as exc:
        raise TlogError(f"{label}: {exc}") from exc
    if body.origin != settings.AUDIT_LOG_ORIGIN:
        raise TlogError(f"{label} is for log {body.origin!r}, not {settings.AUDIT_LOG_ORIGIN!r}")
    return body


def _entries(first: int) -> Iterator[tuple[int, str, bytes, bytes]]:
    rows = (
        LedgerEntry.objects.filter(seq__gte=first)
        .order_by("seq")
        .values_list("seq", "intake__leaf", "leaf_hash", "chain_hash")
    )
    for seq, leaf, lh, ch in rows.iterator(chunk_size=_CHUNK):
        yield seq, leaf, bytes(lh), bytes(ch)


def _subtrees(first: int) -> Iterator[tuple[int, int, int, bytes]]:
    rows = (
        MerkleSubtree.objects.filter(last_seq__gte=first)
        .order_by("last_seq", "level")
        .values_list("last_seq", "level", "index", "hash")
    )
    for last_seq, level, index, h in rows.iterator(chunk_size=_CHUNK):
        yield last_seq, level, index, bytes(h)


def _start_state(first: int) -> tuple[bytes | None, MerkleFrontier]:
    """Stored chain value before `first` and the stored frontier of the tree of that size."""
    if first == 0:
        return None, MerkleFrontier()
    previous = LedgerEntry.objects.filter(seq=first - 1).values_list("chain_hash", flat=True)
    if not previous:
        raise TlogError(f"entry {first - 1} does not exist: cannot start at {first}")
    ranges = aligned_subtrees(0, first)
    coords = [subtree_coordinates(s, e) for s, e in ranges]
    stored = {
        (lv, ix): bytes(h)
        for lv, ix, h in MerkleSubtree.objects.filter(
            last_seq__lt=first, level__in={lv for lv, _ in coords}
        )
        .filter(index__in={ix for _, ix in coords})
        .values_list("level", "index", "hash")
    }
    return bytes(previous[0]), MerkleFrontier(first, [stored[c] for c in coords])


def verify_log(*, first_seq: int = 0, saved_checkpoint: str | None = None) -> VerificationReport:
    """Recompute the log from first_seq and check it against every signed checkpoint.

    Returns a report whose `damage` names the first bad sequence number and the kind of damage
    (see audit.tlog.replay). Raises TlogError when a checkpoint's signature does not verify.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                # One snapshot for the whole run, while the log keeps growing.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        signed: list[tuple[int, bytes, str]] = []
        for size, root, note in Checkpoint.objects.order_by("size").values_list(
            "size", "root_hash", "note"
        ):
            body = _signed_checkpoint(note, f"checkpoint {size}")
            if body.size != size or body.root_hash != bytes(root):
                raise TlogError(f"checkpoint {size}: columns disagree with its signed note")
            signed.append((size, body.root_hash, f"signed checkpoint {size}"))
        if saved_checkpoint is not None:
            body = _signed_checkpoint(saved_checkpoint, "saved checkpoint")
            signed.append((body.size, body.root_hash, f"saved checkpoint {body.size}"))
            signed.sort(key=lambda s: s[0])

        chain, frontier = _start_state(first_seq)
        replay = LogReplayer(
            chain_genesis(settings.AUDIT_LOG_ORIGIN),
            start=first_seq,
            chain=chain,
            frontier=frontier,
        )
        report = VerificationReport(first_seq=first_seq, size=first_seq)
        checks = [s for s in signed if s[0] > first_seq]
        check_at = 0
        last_good = first_seq
        subtrees = _subtrees(first_seq)
        stored_subtree = next(subtrees, None)
        window: list[tuple[int, str, bytes, bytes]] = []

        def feed(row: tuple[int, str, bytes, bytes], next_leaf_hash: bytes | None) -> None:
            nonlocal stored_subtree, check_at, last_good
            seq, leaf, lh, ch = row
            replay.entry(seq, leaf.encode("utf-8"), lh, ch, next_leaf_hash)
            for level, index, computed in replay.subtrees_completed():
                stored = None
                while stored_subtree is not None and stored_subtree[0] < seq:
                    stored_subtree = next(subtrees, None)  # rows for positions not replayed
                if (
                    stored_subtree is not None
                    and stored_subtree[0] == seq
                    and stored_subtree[1] == level
                    and stored_subtree[2] == index
                ):
                    stored = stored_subtree[3]
                    stored_subtree = next(subtrees, None)
                replay.compare_subtree(level, index, computed, stored)
            while check_at < len(checks) and checks[check_at][0] == seq + 1:
                size, root, label = checks[check_at]
                if replay.check_root(size, root, previous_good=last_good, label=label):
                    last_good = size
                report.checkpoints_checked += 1
                check_at += 1

        # One row of look-ahead lets the replayer recognise two swapped rows.
        for row in _entries(first_seq):
            window.append(row)
            if len(window) == 2:
                feed(window[0], window[1][2])
                window.pop(0)
        for row in window:
            feed(row, None)
        report.size = replay.expected_seq
        report.damage = replay.finish(report.size, [(s, label) for s, _, label in checks])
        return report
