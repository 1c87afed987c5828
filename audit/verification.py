"""Verifying the stored log: stream every row, recompute chain and tree, check checkpoints.

The pure replay logic is audit.tlog.replay (runnable offline); this module feeds it from the
database. On PostgreSQL rows arrive through COPY ... TO STDOUT (FORMAT BINARY), and the log can
be cut into ranges verified by parallel processes: each range starts from the stored chain
value before it and the stored frontier of the tree at its start, exactly as a single pass
would have computed them if the earlier ranges are intact (which their own workers check).

A range reports the first damage in its own rows and how every signed root inside it compared
with its recomputed tree; it never judges a root alone, because a range cannot know whether
the stored values it started from were recomputed by a forger. audit.tlog.replay.first_damage
weighs the ranges' findings together, so that serial and parallel runs name the same damage.
"""

from __future__ import annotations

import hashlib
import heapq
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, connections, transaction

from audit.ledger import chain_genesis, log_verifiers, subtree_hashes
from audit.models import Checkpoint, LedgerEntry, MerkleSubtree
from audit.tlog.checkpoint import Checkpoint as CheckpointBody
from audit.tlog.errors import TlogError
from audit.tlog.merkle import MerkleFrontier, aligned_subtrees
from audit.tlog.note import open_note
from audit.tlog.replay import (
    Damage,
    RangeFindings,
    RangeStart,
    RootCheck,
    SignedRoot,
    StreamRow,
    first_damage,
    replay_range,
)

_CHUNK = 10_000

Progress = Callable[[int], None]
"""Told how many entries of the current pass are checked so far (see verify_log)."""

# How often the replayer reports progress: often enough for a progress bar, rarely enough to
# cost nothing (one call per 20,000 entries).
_PROGRESS_EVERY = 20_000


@dataclass
class VerificationReport:
    """Outcome of verify_log: how far it got and the first damage found, if any."""

    first_seq: int
    size: int
    checkpoints_checked: int = 0
    damage: Damage | None = None

    @property
    def ok(self) -> bool:
        return self.damage is None


def _signed_checkpoint(note: str, label: str) -> CheckpointBody:
    try:
        # The current key or an earlier one (a rotated key): docs/operations.md.
        text, _ = open_note(note, log_verifiers())
        body = CheckpointBody.parse(text)
    except TlogError as exc:
        raise TlogError(f"{label}: {exc}") from exc
    if body.origin != settings.AUDIT_LOG_ORIGIN:
        raise TlogError(f"{label} is for log {body.origin!r}, not {settings.AUDIT_LOG_ORIGIN!r}")
    return body


# --- fetching rows ------------------------------------------------------------------------------
#
# Entries and stored subtrees are read as ONE stream ordered by sequence number, each entry
# followed by the subtrees its leaf completes: (seq, 0, leaf, leaf_hash, chain_hash, 0, 0) and
# (last_seq, 1, "", hash, b"", level, index): audit.tlog.replay.StreamRow. One stream is what
# COPY allows per connection.

_STREAM_SQL = (
    "SELECT e.seq, 0::int2 AS kind, i.leaf, e.leaf_hash, e.chain_hash, 0::int2, 0::int8 "
    "FROM audit_ledgerentry e JOIN audit_ledgerintake i ON i.id = e.intake_id "
    "WHERE e.seq >= {start} AND e.seq < {end} "
    "UNION ALL "
    "SELECT last_seq, 1::int2, '', hash, ''::bytea, level::int2, "
    "((last_seq + 1) >> level) - 1 "
    "FROM audit_merklesubtree WHERE last_seq >= {start} AND last_seq < {end} "
    "ORDER BY 1, 2, 6"
)
_STREAM_TYPES = ["int8", "int2", "text", "bytea", "bytea", "int2", "int8"]


def _rows(start: int, end: int) -> Iterator[StreamRow]:
    if connection.vendor == "postgresql":
        sql = _STREAM_SQL.format(start=int(start), end=int(end))
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)") as copy:
                copy.set_types(_STREAM_TYPES)
                yield from copy.rows()
        return
    entries = (
        (seq, 0, leaf, bytes(lh), bytes(ch), 0, 0)
        for seq, leaf, lh, ch in LedgerEntry.objects.filter(seq__gte=start, seq__lt=end)
        .order_by("seq")
        .values_list("seq", "intake__leaf", "leaf_hash", "chain_hash")
        .iterator(chunk_size=_CHUNK)
    )
    subtrees = (
        (last_seq, 1, "", bytes(h), b"", level, ((last_seq + 1) >> level) - 1)
        for last_seq, level, h in MerkleSubtree.objects.filter(
            last_seq__gte=start, last_seq__lt=end
        )
        .order_by("last_seq", "level")
        .values_list("last_seq", "level", "hash")
        .iterator(chunk_size=_CHUNK)
    )
    yield from heapq.merge(entries, subtrees, key=lambda r: (r[0], r[1], r[5]))


def _start_state(first: int) -> RangeStart:
    """Read the stored state before entry `first`; TlogError when it is not all there."""
    if first == 0:
        return RangeStart(0)
    previous = LedgerEntry.objects.filter(seq=first - 1).values_list("chain_hash", "leaf_hash")
    if not previous:
        raise TlogError(f"entry {first - 1} does not exist: cannot start at {first}")
    ranges = aligned_subtrees(0, first)
    try:
        stored = subtree_hashes(ranges)
    except Exception as exc:
        raise TlogError(f"stored frontier at {first} is incomplete: {exc}") from exc
    chain, previous_leaf_hash = previous[0]
    return RangeStart(
        first,
        bytes(chain),
        bytes(previous_leaf_hash),
        MerkleFrontier(first, [stored[r] for r in ranges]),
    )


# --- one range ----------------------------------------------------------------------------------


def _counted(
    rows: Iterable[StreamRow], first: int, progress: Progress | None
) -> Iterator[StreamRow]:
    """The rows, telling progress how many entries (from `first`) went by, now and then."""
    if progress is None:
        yield from rows
        return
    for row in rows:
        if row[1] == 0 and (row[0] - first) % _PROGRESS_EVERY == 0 and row[0] > first:
            progress(row[0] - first)
        yield row


def _verify_range(
    start: RangeStart,
    end: int,
    signed: list[SignedRoot],
    progress: Progress | None = None,
    first: int = 0,
) -> RangeFindings:
    """Replay entries [start.seq, end) with audit.tlog.replay, which names the first damage."""
    # One entry more than the range: see replay_range.
    return replay_range(
        _counted(_rows(start.seq, end + 1), first, progress),
        genesis=chain_genesis(settings.AUDIT_LOG_ORIGIN),
        start=start,
        end=end,
        signed=signed,
    )


# --- the fast path (PostgreSQL) -------------------------------------------------------------------
#
# The replayer above explains damage precisely but spends ~25 us an entry. A log is almost
# always intact, so a range is first checked by the loop below, which does the same checks
# (no gap, leaf bytes -> recorded leaf hash, chain, every stored subtree) in a few
# microseconds an entry, reading rows in binary through server-side cursors, and compares
# every signed root in the range with the recomputed one, as the replayer does. Only when a
# row is wrong is the range replayed by _verify_range to name the first damaged entry and the
# kind of damage; a root that differs while every row agrees is for first_damage to weigh.

_FAST_ENTRIES = (
    "SELECT seq, intake_id, leaf_hash, chain_hash FROM audit_ledgerentry "
    "WHERE seq >= %s AND seq < %s ORDER BY seq"
)
# The sequencer takes intake rows in (txid, id) order, so reading intake in that order from
# the row of the range's first entry yields the leaves in sequence order without a join (a
# join costs the database a lookup per row); each entry's intake_id is checked against it.
_FAST_INTAKE = (
    "SELECT id, convert_to(leaf, 'UTF8') FROM audit_ledgerintake "
    "WHERE (txid, id) >= (SELECT txid, id FROM audit_ledgerintake WHERE id = "
    "(SELECT intake_id FROM audit_ledgerentry WHERE seq = %s)) "
    "ORDER BY txid, id LIMIT %s"
)
_FAST_SUBTREES = (
    "SELECT last_seq, level, hash FROM audit_merklesubtree "
    "WHERE last_seq >= %s AND last_seq < %s AND level > 0 ORDER BY last_seq, level"
)
_FETCH = 20_000


def _fast_range_ok(
    start: int,
    end: int,
    signed: list[SignedRoot],
    state: RangeStart,
    progress: Progress | None = None,
    first: int = 0,
) -> tuple[bool, list[RootCheck]]:
    """Whether every row of entries [start, end) agrees with the recomputed chain and tree,
    and the signed roots inside the range compared with the recomputed ones (up to the first
    row that disagrees)."""
    sha256 = hashlib.sha256
    chain_value = (
        state.chain if state.chain is not None else chain_genesis(settings.AUDIT_LOG_ORIGIN)
    )
    # The frontier as a stack of hashes: appending leaf n merges one node per trailing 1-bit
    # of n, so the levels need not be stored.
    stack = list(state.frontier.hashes)
    roots = sorted((s for s in signed if start < s.size <= end), key=lambda s: s.size)
    roots.append(SignedRoot(end + 1, b"", ""))  # sentinel: never reached
    next_size = roots[0].size
    root_at = 0
    root_checks: list[RootCheck] = []
    raw = connection.connection
    with connection.cursor() as cursor:
        # JIT compiling these plain scans costs more than it saves.
        cursor.execute("SET LOCAL jit = off")
    entries = raw.cursor(name="verify_entries", binary=True)
    intake = raw.cursor(name="verify_intake", binary=True)
    subtrees = raw.cursor(name="verify_subtrees", binary=True)
    entries.execute(_FAST_ENTRIES, (start, end))
    intake.execute(_FAST_INTAKE, (start, end - start))
    subtrees.execute(_FAST_SUBTREES, (start, end))
    upper: list[tuple[int, int, bytes]] = []
    upper_at = 0
    expected = start
    try:
        while batch := entries.fetchmany(_FETCH):
            leaves = intake.fetchmany(len(batch))
            if len(leaves) != len(batch):
                return False, root_checks
            for (seq, intake_id, lh, ch), (leaf_id, leaf) in zip(batch, leaves, strict=True):
                if seq != expected or intake_id != leaf_id:
                    return False, root_checks
                h = sha256(b"\x00" + leaf).digest()
                if h != lh:
                    return False, root_checks
                chain_value = sha256(chain_value + h).digest()
                if chain_value != ch:
                    return False, root_checks
                n = seq
                level = 0
                while n & 1:
                    h = sha256(b"\x01" + stack.pop() + h).digest()
                    n >>= 1
                    level += 1
                    if upper_at == len(upper):
                        upper = subtrees.fetchmany(_FETCH)
                        upper_at = 0
                        if not upper:
                            return False, root_checks
                    row = upper[upper_at]
                    if row[2] != h or row[0] != seq or row[1] != level:
                        return False, root_checks
                    upper_at += 1
                stack.append(h)
                expected = seq + 1
                if expected == next_size:
                    computed = stack[-1]
                    for left in reversed(stack[:-1]):
                        computed = sha256(b"\x01" + left + computed).digest()
                    # Several signed roots may name one size (a saved checkpoint, a fork).
                    while roots[root_at].size == expected:
                        root_checks.append(
                            RootCheck(roots[root_at], computed == roots[root_at].root)
                        )
                        root_at += 1
                    next_size = roots[root_at].size
            if progress is not None:
                progress(expected - first)
        return expected == end, root_checks
    finally:
        entries.close()
        intake.close()
        subtrees.close()


def _check_range(
    start: int,
    end: int,
    signed: list[SignedRoot],
    *,
    trusted_start: bool,
    progress: Progress | None = None,
    first: int = 0,
) -> RangeFindings:
    """Fast path first on PostgreSQL; the replayer explains any row that disagrees.

    trusted_start is true for the range where verification starts: there, stored state that
    cannot be read is the caller's mistake (TlogError). Elsewhere it is damage, which the
    range before this one finds and names at an earlier entry.
    """
    try:
        state = _start_state(start)
    except TlogError as exc:
        if trusted_start:
            raise
        return RangeFindings(Damage(start, "missing", f"cannot start a range here: {exc}"), [])
    if connection.vendor == "postgresql":
        ok, root_checks = _fast_range_ok(start, end, signed, state, progress, first)
        if ok:
            return RangeFindings(None, root_checks)
    return _verify_range(state, end, signed, progress, first)


def _verify_range_in_child(
    start: int, end: int, signed: list[SignedRoot], trusted_start: bool
) -> RangeFindings:
    connections.close_all()  # a forked child must never use the parent's connection
    try:
        with transaction.atomic():
            return _check_range(start, end, signed, trusted_start=trusted_start)
    finally:
        connections.close_all()


# --- the whole log ----------------------------------------------------------------------------


def verify_log(
    *,
    first_seq: int = 0,
    saved_checkpoint: str | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> VerificationReport:
    """Recompute the log from first_seq and check it against every signed checkpoint.

    Returns a report whose `damage` names the first bad sequence number and the kind of damage,
    or a fork of the log key's signatures (see audit.tlog.replay.first_damage); a serial run
    and one with any number of jobs name the same. Raises TlogError when a checkpoint's
    signature does not verify. With jobs > 1 (PostgreSQL), ranges of the log are verified by
    parallel processes.

    progress, when given, is called now and then as progress(done, total): `done` of the
    `total` entries from first_seq are checked (every 20,000 entries in a serial run, after each
    range with jobs > 1, and (total, total) at the end). It costs nothing measurable. `done`
    can go back once: a range whose fast check finds a damaged row is replayed from its start
    to name the damage.
    """
    signed: list[SignedRoot] = []
    for size, root, note in Checkpoint.objects.order_by("size").values_list(
        "size", "root_hash", "note"
    ):
        body = _signed_checkpoint(note, f"checkpoint {size}")
        if body.size != size or body.root_hash != bytes(root):
            raise TlogError(f"checkpoint {size}: columns disagree with its signed note")
        signed.append(SignedRoot(size, body.root_hash, f"signed checkpoint {size}"))
    if saved_checkpoint is not None:
        body = _signed_checkpoint(saved_checkpoint, "saved checkpoint")
        signed.append(SignedRoot(body.size, body.root_hash, f"saved checkpoint {body.size}"))
        signed.sort(key=lambda s: s.size)  # stable: a stored checkpoint before a saved one
    last = LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    size = 0 if last is None else last + 1
    report = VerificationReport(first_seq=first_seq, size=max(size, first_seq))
    if first_seq > size:
        raise TlogError(f"--from {first_seq} is beyond the end of the log ({size} entries)")

    total = size - first_seq

    def tell(done: int) -> None:
        if progress is not None:
            progress(min(done, total), total)

    if jobs > 1 and connection.vendor == "postgresql" and size - first_seq >= 2 * jobs:
        step = -(-(size - first_seq) // jobs)
        bounds = [(a, min(a + step, size)) for a in range(first_seq, size, step)]
        connections.close_all()
        results = []
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            for (_, end), findings in zip(
                bounds,
                pool.map(
                    _verify_range_in_child,
                    *zip(*[(a, b, signed, a == first_seq) for a, b in bounds], strict=True),
                ),
                strict=True,
            ):
                results.append(findings)
                tell(end - first_seq)  # ranges come back in order
    else:
        with transaction.atomic():
            results = [
                _check_range(
                    first_seq,
                    size,
                    signed,
                    trusted_start=True,
                    progress=tell if progress is not None else None,
                    first=first_seq,
                )
            ]
    tell(total)

    report.checkpoints_checked = sum(len(r.root_checks) for r in results)
    report.damage = first_damage(results, signed, first_seq=first_seq, log_size=size)
    return report
