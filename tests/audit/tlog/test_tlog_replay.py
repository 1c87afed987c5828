"""audit.tlog.replay: naming the first damage of a log from its rows and its signed roots,
in one pass or in ranges, with no database (an in-memory log stands in for the tables)."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.tlog._text import b64encode
from audit.tlog.hashing import leaf_hash
from audit.tlog.merkle import MerkleFrontier, aligned_subtrees, subtree_coordinates
from audit.tlog.replay import (
    Damage,
    RangeFindings,
    RangeStart,
    RootCheck,
    SignedRoot,
    StreamRow,
    conflicting_roots,
    first_damage,
    replay_range,
)

GENESIS = hashlib.sha256(b"yaritori/chain/v1\ntest.invalid/log").digest()


@dataclass
class StoredLog:
    """The rows a server keeps: leaves, leaf and chain hashes, subtrees of two or more leaves
    keyed (last_seq, level), and the roots the log key signed at some sizes."""

    leaves: dict[int, str] = field(default_factory=dict)
    leaf_hashes: dict[int, bytes] = field(default_factory=dict)
    chains: dict[int, bytes] = field(default_factory=dict)
    subtrees: dict[tuple[int, int], bytes] = field(default_factory=dict)
    signed: list[SignedRoot] = field(default_factory=list)

    @classmethod
    def build(cls, size: int, checkpoints: tuple[int, ...] = ()) -> StoredLog:
        log = cls()
        log.append([f'{{"n":{n},"outcome":"provided"}}' for n in range(size)])
        frontier = MerkleFrontier()
        for n in range(size):
            frontier.append(log.leaf_hashes[n])
            if n + 1 in checkpoints:
                log.signed.append(SignedRoot(n + 1, frontier.root(), f"signed checkpoint {n + 1}"))
        return log

    def append(self, leaves: list[str]) -> None:
        self.leaves.update(enumerate(leaves))
        self.recompute(0)

    @property
    def size(self) -> int:
        return max(self.leaves, default=-1) + 1

    def chain_before(self, seq: int) -> bytes:
        return GENESIS if seq == 0 else self.chains[seq - 1]

    def recompute(self, first: int, *, subtrees: bool = True) -> None:
        """Recompute leaf and chain hashes from entry `first` on (and every subtree)."""
        chain = self.chain_before(first)
        for seq in range(first, self.size):
            self.leaf_hashes[seq] = leaf_hash(self.leaves[seq].encode())
            chain = hashlib.sha256(chain + self.leaf_hashes[seq]).digest()
            self.chains[seq] = chain
        if subtrees:
            frontier = MerkleFrontier()
            for seq in range(self.size):
                for subtree in frontier.append(self.leaf_hashes[seq]):
                    if subtree.level:
                        self.subtrees[(subtree.end - 1, subtree.level)] = subtree.hash

    def rows(self, start: int, end: int) -> Iterator[StreamRow]:
        for seq in range(start, end):
            if seq in self.leaves:
                yield (seq, 0, self.leaves[seq], self.leaf_hashes[seq], self.chains[seq], 0, 0)
            for (last, level), h in sorted(self.subtrees.items()):
                if last == seq:
                    yield (seq, 1, "", h, b"", level, ((seq + 1) >> level) - 1)

    def start_state(self, seq: int) -> RangeStart | None:
        """The stored state before entry seq, as verification reads it; None if not there."""
        if seq == 0:
            return RangeStart(0)
        if seq - 1 not in self.leaves:
            return None
        pieces = []
        for s, e in aligned_subtrees(0, seq):
            level, _ = subtree_coordinates(s, e)
            key = (e - 1, level)
            if level == 0 and s in self.leaves:
                pieces.append(self.leaf_hashes[s])
            elif level > 0 and key in self.subtrees:
                pieces.append(self.subtrees[key])
        if len(pieces) != len(aligned_subtrees(0, seq)):
            return None
        return RangeStart(
            seq, self.chains[seq - 1], self.leaf_hashes[seq - 1], MerkleFrontier(seq, pieces)
        )

    def replay(self, bounds: list[int], saved: Sequence[SignedRoot] = ()) -> Damage | None:
        """What audit_verify reports when the log is cut at `bounds` (0 and the size included),
        each range replayed from the stored state before it, as verify_log does."""
        signed = sorted([*self.signed, *saved], key=lambda s: s.size)
        findings = []
        for start, end in itertools.pairwise(bounds):
            state = self.start_state(start)
            if state is None:  # verify_log: unreadable state is damage the range before names
                findings.append(RangeFindings(Damage(start, "missing", "no start"), []))
                continue
            findings.append(
                replay_range(
                    self.rows(start, end + 1),
                    genesis=GENESIS,
                    start=state,
                    end=end,
                    signed=signed,
                )
            )
        return first_damage(findings, signed, first_seq=bounds[0], log_size=bounds[-1])

    def one_pass(self, saved: Sequence[SignedRoot] = ()) -> Damage | None:
        return self.replay([0, self.size], saved)


# --- damage a forger with the owner's rights can do --------------------------------------------


def change_payload(log: StoredLog, k: int) -> None:
    log.leaves[k] = log.leaves[k].replace("provided", "refused")


def forge_with_own_hashes(log: StoredLog, k: int) -> None:
    change_payload(log, k)
    log.leaf_hashes[k] = leaf_hash(log.leaves[k].encode())
    log.chains[k] = hashlib.sha256(log.chain_before(k) + log.leaf_hashes[k]).digest()


def rewrite_recomputing_chain(log: StoredLog, k: int) -> None:
    change_payload(log, k)
    log.recompute(k, subtrees=False)


def rewrite_recomputing_everything(log: StoredLog, k: int) -> None:
    change_payload(log, k)
    log.recompute(k)


def delete_entry(log: StoredLog, k: int) -> None:
    del log.leaves[k], log.leaf_hashes[k], log.chains[k]


def swap_with_next(log: StoredLog, k: int) -> None:
    log.leaves[k], log.leaves[k + 1] = log.leaves[k + 1], log.leaves[k]


DAMAGE: dict[str, Callable[[StoredLog, int], None]] = {
    "payload": change_payload,
    "leaf_hash": lambda log, k: log.leaf_hashes.__setitem__(k, b"\x01" * 32),
    "chain": lambda log, k: log.chains.__setitem__(k, b"\x02" * 32),
    "deleted": delete_entry,
    "swapped": swap_with_next,
    "own_hashes": forge_with_own_hashes,
    "chain_recomputed": rewrite_recomputing_chain,
    "all_recomputed": rewrite_recomputing_everything,
    "pair_node": lambda log, k: log.subtrees.__setitem__((k | 1, 1), b"\x03" * 32),
}


# --- one entry replaced with its own hashes (issue 12, point 9c) ------------------------------


@pytest.mark.parametrize("forged", [0, 6, 7, 12, 15, 22])
def test_an_entry_replaced_with_its_own_hashes_is_named(forged):
    log = StoredLog.build(24)
    forge_with_own_hashes(log, forged)
    damage = log.one_pass()
    assert (damage.seq, damage.kind) == (forged, "rewritten")
    assert f"entry {forged + 1}'s chain hash" in damage.detail


def test_the_last_entry_replaced_with_its_own_hashes_is_left_to_the_signed_roots():
    """No next chain hash and, for an even last entry, no pair: only a signed root can tell."""
    log = StoredLog.build(24, checkpoints=(20, 24))
    forge_with_own_hashes(log, 23)  # odd: its pair (22, 23) closes, nothing follows it
    assert (log.one_pass().seq, log.one_pass().kind) == (22, "subtree")
    log = StoredLog.build(25, checkpoints=(24, 25))
    forge_with_own_hashes(log, 24)
    assert str(log.one_pass()) == (
        "seq 24: checkpoint: signed checkpoint 25 does not match the tree recomputed from the "
        "entries, signed checkpoint 24 does: entry 24 was rewritten with every later hash "
        "recomputed"
    )


def test_a_changed_chain_hash_is_not_taken_for_a_replaced_entry():
    for k in (6, 7):
        log = StoredLog.build(24)
        log.chains[k] = b"\x02" * 32
        assert str(log.one_pass()) == f"seq {k}: chain: recorded chain hash changed"


def test_a_rewrite_with_every_later_chain_hash_recomputed_is_located_to_its_pair():
    log = StoredLog.build(24)
    rewrite_recomputing_chain(log, 15)
    assert str(log.one_pass()).startswith(
        "seq 14: subtree: stored hash of subtree level 1 #7 differs: entry 14 or 15"
    )


@pytest.mark.parametrize("forged", [9, 10])
def test_the_entry_after_a_range_names_a_replacement_at_its_end(forged):
    """Ranges [0, 10) and [10, 24): entry 9's pair closes in the first range and its chain
    breaks at 10; entry 10's pair closes in the second, from the stored leaf 10 it starts
    with. Both are named as one pass names them."""
    log = StoredLog.build(24)
    forge_with_own_hashes(log, forged)
    assert log.replay([0, 10, 24]) == log.one_pass()
    assert (log.one_pass().seq, log.one_pass().kind) == (forged, "rewritten")


def test_a_range_that_does_not_read_the_next_entry_can_only_locate_the_pair():
    log = StoredLog.build(24)
    forge_with_own_hashes(log, 9)
    findings = replay_range(
        log.rows(0, 10), genesis=GENESIS, start=RangeStart(0), end=10, signed=[]
    )
    assert (findings.damage.seq, findings.damage.kind) == (8, "subtree")


# --- history rewritten with every hash recomputed (point 9a) ----------------------------------


def test_a_rewrite_before_a_range_start_is_located_between_the_signed_roots():
    """Checkpoints 9, 17, 23; entry 17 rewritten, every later hash and subtree recomputed.
    The range [20, 30) starts from recomputed values and alone would blame 20..22."""
    log = StoredLog.build(30, checkpoints=(9, 17, 23, 30))
    rewrite_recomputing_everything(log, 17)
    expected = (
        "seq 17: checkpoint: signed checkpoint 23 does not match the tree recomputed from the "
        "entries, signed checkpoint 17 does: an entry in 17..22 was rewritten with every "
        "later hash recomputed"
    )
    assert str(log.one_pass()) == expected
    assert str(log.replay([0, 20, 30])) == expected
    assert str(log.replay([0, 10, 20, 30])) == expected


def test_with_no_matching_root_before_it_the_rewrite_is_located_from_the_start():
    log = StoredLog.build(30, checkpoints=(23, 30))
    rewrite_recomputing_everything(log, 17)
    assert str(log.replay([0, 20, 30])) == (
        "seq 0: checkpoint: signed checkpoint 23 does not match the tree recomputed from the "
        "entries: an entry in 0..22 was rewritten with every later hash recomputed"
    )
    # With --from 10, entries before 10 are trusted.
    assert log.replay([10, 20, 30]).seq == 10


def test_an_entry_found_inside_the_signed_interval_is_named_rather_than_the_interval():
    log = StoredLog.build(30, checkpoints=(9, 17, 23, 30))
    forge_with_own_hashes(log, 20)
    assert (log.replay([0, 20, 30]).seq, log.replay([0, 20, 30]).kind) == (20, "rewritten")


def test_a_signed_interval_before_the_first_damaged_row_is_named_first():
    log = StoredLog.build(30, checkpoints=(9, 17, 23, 30))
    rewrite_recomputing_everything(log, 17)
    log.chains[26] = b"\x02" * 32
    assert log.replay([0, 20, 30]).seq == 17
    assert log.replay([0, 20, 30]).kind == "checkpoint"


# --- forks (point 9b) --------------------------------------------------------------------------


def saved(size: int, root: bytes) -> SignedRoot:
    return SignedRoot(size, root, f"saved checkpoint {size}")


@pytest.mark.parametrize("other_root", [bytes(32), b"\xff" * 32])
def test_two_roots_signed_for_one_size_are_a_fork(other_root):
    log = StoredLog.build(30, checkpoints=(9, 17, 23, 30))
    stored_root = log.signed[2].root
    expected = (
        f"fork: the log key signed two different roots for size 23: {b64encode(stored_root)} "
        f"(signed checkpoint 23) and {b64encode(other_root)} (saved checkpoint 23); the stored "
        "entries reproduce signed checkpoint 23"
    )
    assert str(log.one_pass([saved(23, other_root)])) == expected
    assert str(log.replay([0, 20, 30], [saved(23, other_root)])) == expected
    assert log.one_pass([saved(23, other_root)]).seq is None


def test_a_fork_says_whether_the_entries_reproduce_either_root():
    log = StoredLog.build(30, checkpoints=(9, 17, 23, 30))
    rewrite_recomputing_everything(log, 5)
    assert str(log.one_pass([saved(23, bytes(32))])).endswith(
        "; the stored entries reproduce neither"
    )
    log = StoredLog.build(30, checkpoints=(9, 17, 23, 30))
    forge_with_own_hashes(log, 12)
    assert str(log.one_pass([saved(23, bytes(32))])).endswith(
        "; the stored entries are damaged before that size (seq 12: rewritten: entry 12 was "
        "replaced, with its leaf and chain hashes recomputed: entry 13's chain hash and the "
        "stored subtree level 1 #6 (entries 12..13) still commit to the entry it replaced)"
    )
    log = StoredLog.build(30, checkpoints=(9, 17, 23, 30))
    assert str(log.one_pass([saved(31, bytes(32)), saved(31, b"\xff" * 32)])).endswith(
        "; the log has only 30 entries"
    )


def test_a_root_that_a_later_signed_tree_contradicts_is_a_fork():
    """A saved checkpoint of a size never stored, signed over another tree, while the stored
    checkpoints after it match the entries: the key signed two histories, no entry changed."""
    log = StoredLog.build(30, checkpoints=(9, 17, 23, 30))
    damage = log.replay([0, 20, 30], [saved(20, bytes(32))])
    assert str(damage) == (
        f"fork: the log key signed {b64encode(bytes(32))} for size 20 (saved checkpoint 20) "
        f"and {b64encode(log.signed[2].root)} for size 23 (signed checkpoint 23), which cannot "
        "both hold: the stored entries reproduce the tree of size 23, whose first 20 entries "
        "have another root"
    )
    assert damage == log.one_pass([saved(20, bytes(32))])


def test_conflicting_roots():
    a, b = SignedRoot(3, bytes(32), "a"), SignedRoot(3, b"\x01" * 32, "b")
    assert conflicting_roots([a, SignedRoot(3, bytes(32), "same"), b]) == (a, b)
    assert conflicting_roots([a, SignedRoot(4, b"\x01" * 32, "c")]) is None


# --- the rest of first_damage ---------------------------------------------------------------


def test_an_intact_log_has_no_damage_and_a_short_one_is_truncated():
    log = StoredLog.build(30, checkpoints=(9, 17, 23, 30))
    assert log.one_pass() is None
    assert log.replay([0, 9, 20, 30]) is None
    assert str(log.one_pass([saved(35, bytes(32))])) == (
        "seq 30: truncated: saved checkpoint 35 covers 35 entries but the log has 30"
    )


def test_root_checks_after_the_first_damaged_row_are_not_weighed():
    """A range after a damaged one starts from stored values that one pass would not have
    computed; its roots must not turn the damage into a checkpoint interval or a fork."""
    findings = [
        RangeFindings(Damage(12, "chain", "x"), [RootCheck(SignedRoot(9, b"", "s9"), True)]),
        RangeFindings(None, [RootCheck(SignedRoot(17, b"", "s17"), False)]),
        RangeFindings(None, [RootCheck(SignedRoot(23, b"", "s23"), True)]),
    ]
    assert first_damage(findings, [], first_seq=0, log_size=30) == Damage(12, "chain", "x")


# --- one pass and any cut into ranges name the same damage ------------------------------------


@given(
    size=st.integers(4, 40),
    kind=st.sampled_from(sorted(DAMAGE)),
    data=st.data(),
)
def test_ranges_name_what_one_pass_names(size, kind, data):
    checkpoints = tuple(data.draw(st.sets(st.integers(1, size), max_size=8)) | {size})
    log = StoredLog.build(size, checkpoints=checkpoints)
    k = data.draw(st.integers(0, size - 2))
    DAMAGE[kind](log, k)
    cuts = data.draw(st.sets(st.integers(1, size - 1), max_size=4))
    one_pass = log.one_pass()
    assert one_pass is not None
    assert log.replay([0, *sorted(cuts), size]) == one_pass
    if kind == "own_hashes":
        assert (one_pass.seq, one_pass.kind) == (k, "rewritten")
    if kind == "all_recomputed":
        good = max((c for c in checkpoints if c <= k), default=0)
        assert (one_pass.seq, one_pass.kind) == (good, "checkpoint")
