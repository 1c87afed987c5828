"""Replaying a log from its rows to find the first damaged entry (no Django, no database).

An auditor feeds a LogReplayer every entry in sequence order (leaf bytes, stored leaf hash,
stored chain hash), every stored perfect-subtree hash, and every signed checkpoint; it
recomputes the chain and the Merkle tree and records the first place where what is stored
disagrees with what it recomputes, naming the kind of damage:

* ``missing``        a sequence number is absent (a deleted row);
* ``out_of_order``   an entry's leaf belongs to a neighbouring position (swapped rows);
* ``payload``        the leaf bytes no longer hash to the recorded leaf hash;
* ``leaf_hash``      the recorded leaf hash was changed (the chain still fits the leaf);
* ``chain``          the recorded chain hash was changed;
* ``subtree``        a stored subtree hash differs from the recomputed one (for the smallest
                     subtrees, two entries: one of them may have been rewritten with its
                     leaf and chain hashes recomputed);
* ``checkpoint``     a signed checkpoint's root differs from the recomputed root at its size
                     (history rewritten with every hash recomputed: located to the entries
                     between the last good checkpoint and this one);
* ``truncated``      the log is shorter than a checkpoint that was signed or saved.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .hashing import leaf_hash
from .merkle import MerkleFrontier

__all__ = ["Damage", "LogReplayer"]


@dataclass(frozen=True)
class Damage:
    """The first damaged sequence number, the kind of damage, and a sentence about it."""

    seq: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind}: {self.detail}"


class LogReplayer:
    """Recomputes chain and tree from a log's rows, fed in sequence order."""

    def __init__(
        self,
        genesis: bytes,
        *,
        start: int = 0,
        chain: bytes | None = None,
        frontier: MerkleFrontier | None = None,
    ) -> None:
        """Start at entry 0 from the genesis chain value, or at `start` from the stored chain
        value before it and the tree's frontier at that size (range verification)."""
        self.expected_seq = start
        self.chain = genesis if chain is None else chain
        self.frontier = frontier or MerkleFrontier()
        self.damage: Damage | None = None
        self._pending: list[tuple[int, int, bytes]] = []
        self._previous_leaf_hash: bytes | None = None

    def _report(self, seq: int, kind: str, detail: str) -> None:
        if self.damage is None or seq < self.damage.seq:
            self.damage = Damage(seq, kind, detail)

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
            self._report(seq, "chain", "recorded chain hash changed")
        for subtree in self.frontier.append(computed):
            if subtree.level:  # a one-leaf subtree is the leaf hash, checked above
                self._pending.append((subtree.level, subtree.index, subtree.hash))
        self._previous_leaf_hash = stored_leaf_hash
        self.expected_seq = seq + 1

    def subtrees_completed(self) -> list[tuple[int, int, bytes]]:
        """Subtrees of two or more leaves completed since the last call, (level, index, hash),
        in append order."""
        done, self._pending = self._pending, []
        return done

    def compare_subtree(
        self, level: int, index: int, computed: bytes, stored: bytes | None
    ) -> None:
        """Compare a recomputed subtree with its stored hash (None: the row is missing)."""
        if stored != computed:
            first = index << level
            last = ((index + 1) << level) - 1
            if self.damage is not None and first <= self.damage.seq <= last:
                return  # an entry inside it is already found to be damaged: that says more
            what = "missing" if stored is None else "differs"
            if level == 1:
                # Both leaves hashed as recorded, yet their pair does not: either this node
                # was altered, or one of the two entries was rewritten with its leaf and chain
                # hashes recomputed. The log cannot tell which; the pair is located.
                self._report(
                    first,
                    "subtree",
                    f"stored hash of subtree level 1 #{index} differs: entry {first} or "
                    f"{last} was rewritten with recomputed hashes, or the node was altered",
                )
            else:
                # Its halves were checked when they completed, so the node itself is wrong.
                self._report(
                    last,
                    "subtree",
                    f"stored hash of subtree level {level} #{index} (leaves {first}..{last}) "
                    f"{what}",
                )

    def check_root(self, size: int, signed_root: bytes, *, previous_good: int, label: str) -> bool:
        """Compare the recomputed root at the current size with a signed one."""
        if size != self.frontier.size:
            return False  # entries are missing: already reported, the roots cannot be compared
        if self.frontier.root() != signed_root:
            if self.damage is not None:
                return False  # a precise location inside this range is already known
            self._report(
                previous_good,
                "checkpoint",
                f"{label} of size {size} does not match the recomputed tree: an entry "
                f"in {previous_good}..{size - 1} was rewritten",
            )
            return False
        return True
