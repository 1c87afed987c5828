"""Replaying a log from its rows to find the first damaged entry (no Django, no database).

An auditor feeds a LogReplayer every entry in sequence order (leaf bytes, stored leaf hash,
stored chain hash) and every stored perfect-subtree hash; it recomputes the chain and the
Merkle tree and records the first place where what is stored disagrees with what it
recomputes. It also compares the recomputed root with each signed root at its size. The rows
are the server's word only; the signed roots are the log key's. first_damage() then weighs
the two and names the damage, one of these kinds:

* ``missing``        a sequence number is absent (a deleted row);
* ``out_of_order``   an entry's leaf belongs to a neighbouring position (swapped rows);
* ``payload``        the leaf bytes no longer hash to the recorded leaf hash;
* ``leaf_hash``      the recorded leaf hash was changed (the chain still fits the leaf);
* ``chain``          the recorded chain hash was changed;
* ``rewritten``      an entry was replaced with its own leaf and chain hashes recomputed: the
                     next entry's chain hash and the stored subtree over its pair of leaves
                     still commit to the entry it replaced;
* ``subtree``        a stored subtree hash differs from the recomputed one (for the smallest
                     subtrees, two entries: one of them may have been rewritten with its
                     leaf hash and every later chain hash recomputed);
* ``checkpoint``     the first signed root that differs from the recomputed tree, while the
                     signed root before it matches (history rewritten with every hash
                     recomputed: located to the entries between the two sizes);
* ``fork``           the log key signed two roots that cannot belong to one history: two
                     roots for one size, or a root that the tree of a later signed root
                     contradicts (no entry is named: the rows are not what is wrong);
* ``truncated``      the log is shorter than a checkpoint that was signed or saved.

A log may be replayed in ranges (in parallel), each by replay_range(): a range starts from
the stored chain value, leaf hash and frontier before it (RangeStart) and also reads the entry
after it. first_damage() weighs the findings of all ranges together and names the same damage
as one pass over the whole log would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ._text import b64encode
from .hashing import leaf_hash
from .merkle import MerkleFrontier

__all__ = [
    "Damage",
    "LogReplayer",
    "RangeFindings",
    "RangeStart",
    "RootCheck",
    "SignedRoot",
    "StreamRow",
    "conflicting_roots",
    "first_damage",
    "replay_range",
]


@dataclass(frozen=True)
class Damage:
    """The first damaged sequence number, the kind of damage, and a sentence about it.

    seq is None for a fork: the log key's signatures contradict each other, whatever the rows.
    """

    seq: int | None
    kind: str
    detail: str

    def __str__(self) -> str:
        if self.seq is None:
            return f"{self.kind}: {self.detail}"
        return f"seq {self.seq}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class SignedRoot:
    """A root hash that the log's key signed for a tree size; label says where it came from
    (e.g. "signed checkpoint 21", "saved checkpoint 21")."""

    size: int
    root: bytes
    label: str


@dataclass(frozen=True)
class RootCheck:
    """A signed root compared with the root recomputed from the entries at its size."""

    signed: SignedRoot
    matches: bool


@dataclass(frozen=True)
class RangeStart:
    """What replaying from entry `seq` starts from: the stored chain value and leaf hash of
    the entry before it (None at 0: the genesis value, no leaf) and the stored frontier of the
    tree of `seq` leaves."""

    seq: int
    chain: bytes | None = None
    previous_leaf_hash: bytes | None = None
    frontier: MerkleFrontier = field(default_factory=MerkleFrontier)


@dataclass
class RangeFindings:
    """What replaying one range found: the first damage in its rows, and every signed root of
    a size inside the range compared with the tree recomputed there."""

    damage: Damage | None
    root_checks: list[RootCheck]


StreamRow = tuple[int, int, str, bytes, bytes, int, int]
"""One row of the stream replay_range() reads, ordered by (seq, kind, level): an entry
(seq, 0, leaf text, stored leaf hash, stored chain hash, 0, 0) followed by the stored subtrees
of two or more leaves that it completes, (seq, 1, "", stored hash, b"", level, index)."""


def _rewritten(seq: int) -> Damage:
    first = seq - seq % 2
    return Damage(
        seq,
        "rewritten",
        f"entry {seq} was replaced, with its leaf and chain hashes recomputed: entry "
        f"{seq + 1}'s chain hash and the stored subtree level 1 #{seq // 2} (entries "
        f"{first}..{first + 1}) still commit to the entry it replaced",
    )


class LogReplayer:
    """Recomputes chain and tree from a log's rows, fed in sequence order."""

    def __init__(
        self,
        genesis: bytes,
        *,
        start: int = 0,
        chain: bytes | None = None,
        frontier: MerkleFrontier | None = None,
        previous_leaf_hash: bytes | None = None,
    ) -> None:
        """Start at entry 0 from the genesis chain value, or at `start` from the stored chain
        value, the tree's stored frontier and the stored leaf hash before it (a range)."""
        self.expected_seq = start
        self.chain = genesis if chain is None else chain
        self.frontier = frontier or MerkleFrontier()
        self.damage: Damage | None = None
        self._pending: list[tuple[int, int, bytes]] = []
        self._previous_leaf_hash = previous_leaf_hash
        # The first leaf of a pair whose stored subtree is the damage found so far while it
        # cannot yet say which of its two entries was rewritten (see _chain_broken_at).
        self._unresolved_pair: int | None = None

    def _report(self, seq: int, kind: str, detail: str) -> bool:
        """Record the damage if it is the earliest so far; True when it was recorded."""
        if self.damage is None or self.damage.seq is None or seq < self.damage.seq:
            self.damage = Damage(seq, kind, detail)
            self._unresolved_pair = None
            return True
        return False

    def _chain_broken_at(self, seq: int) -> None:
        # Entry seq's leaf is intact but its chain hash does not follow from the entry before.
        # If that entry's pair subtree was already found wrong, the entry before was replaced
        # with its own hashes recomputed: this row was chained to the entry it replaced.
        if self._unresolved_pair is not None and self._unresolved_pair == seq - 2:
            self.damage = _rewritten(seq - 1)
            self._unresolved_pair = None
            return
        self._report(seq, "chain", "recorded chain hash changed")

    def entry(
        self,
        seq: int,
        leaf: bytes,
        stored_leaf_hash: bytes,
        stored_chain: bytes,
        next_stored_leaf_hash: bytes | None = None,
    ) -> None:
        """Feed entry seq; next_stored_leaf_hash (the following row's) helps name a swap."""
        if seq != self.expected_seq:
            self._report(
                self.expected_seq,
                "missing",
                f"entries {self.expected_seq}..{seq - 1} are absent (deleted rows)",
            )
            self.expected_seq = seq  # keep replaying what is there
        computed = leaf_hash(leaf)
        if computed != stored_leaf_hash:
            if computed == next_stored_leaf_hash or computed == self._previous_leaf_hash:
                self._report(
                    seq,
                    "out_of_order",
                    "this leaf belongs to a neighbouring position (rows swapped)",
                )
            elif hashlib.sha256(self.chain + stored_leaf_hash).digest() == stored_chain:
                self._report(
                    seq,
                    "payload",
                    "leaf bytes changed: they no longer hash to the recorded leaf hash",
                )
            else:
                self._report(seq, "leaf_hash", "recorded leaf hash changed")
        self.chain = hashlib.sha256(self.chain + computed).digest()
        if computed == stored_leaf_hash and self.chain != stored_chain:
            self._chain_broken_at(seq)
        for subtree in self.frontier.append(computed):
            if subtree.level:  # a one-leaf subtree is the leaf hash, checked above
                self._pending.append((subtree.level, subtree.index, subtree.hash))
        self._previous_leaf_hash = stored_leaf_hash
        self.expected_seq = seq + 1

    def next_entry(
        self, seq: int, leaf: bytes, stored_leaf_hash: bytes, stored_chain: bytes
    ) -> None:
        """Look at entry seq, just after the last one fed, which belongs to the next range:
        only at whether it is chained to the last entry fed, which can tell which entry of the
        last pair was replaced. Nothing is recorded against entry seq itself."""
        if seq != self.expected_seq or self._unresolved_pair != seq - 2:
            return
        computed = leaf_hash(leaf)
        chain = hashlib.sha256(self.chain + computed).digest()
        if computed == stored_leaf_hash and chain != stored_chain:
            self._chain_broken_at(self.expected_seq)

    def finish(self, end: int) -> None:
        """No more entries come before `end`: those from expected_seq on are missing."""
        if self.expected_seq < end:
            self._report(
                self.expected_seq,
                "missing",
                f"entries {self.expected_seq}..{end - 1} are absent (deleted rows)",
            )

    def subtrees_completed(self) -> list[tuple[int, int, bytes]]:
        """Subtrees of two or more leaves completed since the last call, (level, index, hash),
        in append order."""
        done, self._pending = self._pending, []
        return done

    def compare_subtree(
        self, level: int, index: int, computed: bytes, stored: bytes | None
    ) -> None:
        """Compare a recomputed subtree with its stored hash (None: the row is missing)."""
        if stored == computed:
            return
        first = index << level
        last = ((index + 1) << level) - 1
        found = self.damage
        if level == 1 and found is not None and (found.seq, found.kind) == (last, "chain"):
            # The second entry's leaf is intact and its chain hash does not follow from the
            # first, while the pair's stored hash does not fit the first entry's leaf either:
            # the first entry was replaced with its own hashes recomputed, and both the next
            # chain hash and the tree still commit to the old one.
            self.damage = _rewritten(first)
            return
        if found is not None and found.seq is not None and first <= found.seq <= last:
            return  # an entry inside it is already found to be damaged: that says more
        what = "missing" if stored is None else "differs"
        if level == 1:
            # Both leaves hashed as recorded, yet their pair does not: either this node was
            # altered, or one of the two entries was rewritten with its leaf hash (and chain
            # hashes) recomputed. A chain hash that breaks right after one of them names it
            # (_chain_broken_at); until then the pair is located.
            if self._report(
                first,
                "subtree",
                f"stored hash of subtree level 1 #{index} {what}: entry {first} or "
                f"{last} was rewritten with recomputed hashes, or the node was altered",
            ):
                self._unresolved_pair = first
        else:
            # Its halves were checked when they completed, so the node itself is wrong.
            self._report(
                last,
                "subtree",
                f"stored hash of subtree level {level} #{index} (leaves {first}..{last}) {what}",
            )

    def root_matches(self, size: int, signed_root: bytes) -> bool | None:
        """Whether the recomputed root at the current size is signed_root; None when entries
        are missing, so that the tree replayed is not the tree of that size."""
        if size != self.frontier.size:
            return None
        return self.frontier.root() == signed_root


def replay_range(
    rows: Iterable[StreamRow],
    *,
    genesis: bytes,
    start: RangeStart,
    end: int,
    signed: Iterable[SignedRoot],
) -> RangeFindings:
    """Replay entries [start.seq, end) from `rows` and compare every signed root of a size in
    (start.seq, end] with the recomputed tree.

    rows may go on to the entry `end` itself (its subtrees are ignored): it belongs to the
    next range, but it tells whether this range's last entry was replaced (its chain hash) or
    swapped with it (its leaf hash), as one pass over the log would see.
    """
    replay = LogReplayer(
        genesis,
        start=start.seq,
        chain=start.chain,
        frontier=start.frontier,
        previous_leaf_hash=start.previous_leaf_hash,
    )
    checks = sorted((s for s in signed if start.seq < s.size <= end), key=lambda s: s.size)
    check_at = 0
    root_checks: list[RootCheck] = []

    def feed(
        entry: StreamRow, stored: dict[tuple[int, int], bytes], next_leaf_hash: bytes | None
    ) -> None:
        nonlocal check_at
        seq, _, leaf, lh, ch, _, _ = entry
        replay.entry(seq, leaf.encode("utf-8"), lh, ch, next_leaf_hash)
        for level, index, computed in replay.subtrees_completed():
            replay.compare_subtree(level, index, computed, stored.get((level, index)))
        while check_at < len(checks) and checks[check_at].size <= seq + 1:
            matches = replay.root_matches(checks[check_at].size, checks[check_at].root)
            if matches is not None:
                root_checks.append(RootCheck(checks[check_at], matches))
            check_at += 1

    # An entry is fed once the next one is read: its subtrees have arrived by then, and the
    # next leaf hash lets the replayer recognise two swapped rows.
    pending: StreamRow | None = None
    pending_subtrees: dict[tuple[int, int], bytes] = {}
    for row in rows:
        if row[1] == 1:
            if pending is not None and row[0] == pending[0]:
                pending_subtrees[(row[5], row[6])] = row[3]
            continue
        if row[0] > end:
            break
        if pending is not None:
            feed(pending, pending_subtrees, row[3])
        pending, pending_subtrees = row, {}
    if pending is not None:
        if pending[0] == end:
            replay.next_entry(end, pending[2].encode("utf-8"), pending[3], pending[4])
        else:
            feed(pending, pending_subtrees, None)
    replay.finish(end)
    return RangeFindings(replay.damage, root_checks)


def conflicting_roots(signed: Iterable[SignedRoot]) -> tuple[SignedRoot, SignedRoot] | None:
    """The first two signed roots for one size that differ, in the order given; else None."""
    seen: dict[int, SignedRoot] = {}
    for root in signed:
        earlier = seen.setdefault(root.size, root)
        if earlier.root != root.root:
            return earlier, root
    return None


def first_damage(
    findings: Sequence[RangeFindings],
    signed: Sequence[SignedRoot],
    *,
    first_seq: int,
    log_size: int,
) -> Damage | None:
    """The damage to report for a log, from what replaying it found and all its signed roots.

    findings are those of the ranges that cover entries first_seq..log_size-1, in order (one
    range for a single pass); signed are all signed roots known (stored and saved), a stored
    one before a saved one of the same size; entries before first_seq are trusted. The
    earliest damage in the rows is entry_damage below (on a tie, the earlier range's: the
    entry is its own). In order:

    1. two different signed roots for one size: a ``fork`` (whatever the rows say);
    2. among the roots of trees that hold only entries before entry_damage (their recomputed
       roots do not depend on any row found wrong), the first that does not match:
       a ``fork`` if a later one matches (the rows are the tree the later root signs),
       otherwise ``checkpoint``, naming the entries between the last matching signed size
       before it (or first_seq) and its size, the narrowest the signatures prove;
    3. entry_damage itself;
    4. a signed size beyond the end of the log: ``truncated``.
    """
    damages = [f.damage for f in findings if f.damage is not None]
    entry_damage = min(damages, key=lambda d: -1 if d.seq is None else d.seq, default=None)
    root_checks = [check for f in findings for check in f.root_checks]
    # Roots at sizes up to the first damaged entry are recomputed from rows that verified, so
    # a parallel range (which starts from stored values) computes them as one pass would.
    trusted_up_to = (
        log_size if entry_damage is None or entry_damage.seq is None else entry_damage.seq
    )
    checks = sorted(
        (c for c in root_checks if c.signed.size <= trusted_up_to), key=lambda c: c.signed.size
    )

    fork = conflicting_roots(signed)
    if fork is not None:
        return _fork_of_one_size(fork, checks, entry_damage, log_size)

    first_bad = next((c for c in checks if not c.matches), None)
    if first_bad is not None:
        bad = first_bad.signed
        later_good = next((c for c in checks if c.matches and c.signed.size > bad.size), None)
        if later_good is not None:
            good = later_good.signed
            return Damage(
                None,
                "fork",
                f"the log key signed {b64encode(bad.root)} for size {bad.size} ({bad.label}) "
                f"and {b64encode(good.root)} for size {good.size} ({good.label}), which "
                f"cannot both hold: the stored entries reproduce the tree of size {good.size}, "
                f"whose first {bad.size} entries have another root",
            )
        good_before = [c.signed for c in checks if c.matches and c.signed.size < bad.size]
        start = max(first_seq, good_before[-1].size) if good_before else first_seq
        which = (
            f"entry {start} was rewritten"
            if start == bad.size - 1
            else f"an entry in {start}..{bad.size - 1} was rewritten"
        )
        also = f", {good_before[-1].label} does" if good_before else ""
        return Damage(
            start,
            "checkpoint",
            f"{bad.label} does not match the tree recomputed from the entries{also}: {which} "
            "with every later hash recomputed",
        )
    if entry_damage is not None:
        return entry_damage
    for root in sorted(signed, key=lambda s: s.size):
        if root.size > log_size:
            return Damage(
                log_size,
                "truncated",
                f"{root.label} covers {root.size} entries but the log has {log_size}",
            )
    return None


def _fork_of_one_size(
    fork: tuple[SignedRoot, SignedRoot],
    trusted_checks: Sequence[RootCheck],
    entry_damage: Damage | None,
    log_size: int,
) -> Damage:
    one, other = fork
    size = one.size
    if size > log_size:
        entries = f"the log has only {log_size} entries"
    elif entry_damage is not None and entry_damage.seq is not None and size > entry_damage.seq:
        entries = f"the stored entries are damaged before that size ({entry_damage})"
    else:
        matching = [c.signed.label for c in trusted_checks if c.signed.size == size and c.matches]
        compared = any(c.signed.size == size for c in trusted_checks)
        if matching:
            entries = f"the stored entries reproduce {matching[0]}"
        elif compared:
            entries = "the stored entries reproduce neither"
        else:
            entries = "the stored entries were not compared at that size"
    return Damage(
        None,
        "fork",
        f"the log key signed two different roots for size {size}: {b64encode(one.root)} "
        f"({one.label}) and {b64encode(other.root)} ({other.label}); {entries}",
    )
