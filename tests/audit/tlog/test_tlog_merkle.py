"""Merkle trees: classic roots, proof generation (in memory and from stored perfect subtrees),
RFC 9162 verification, bit-flip rejection, MerkleFrontier, and O(log n) reads."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.tlog.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
from audit.tlog.merkle import (
    CompletedSubtree,
    MerkleFrontier,
    ProofError,
    aligned_subtrees,
    consistency_proof,
    consistency_proof_ranges,
    inclusion_proof,
    inclusion_proof_ranges,
    is_perfect,
    perfect_pieces,
    range_hash_from_perfect,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    subtree_coordinates,
    subtree_hash_over,
    subtree_range,
    verify_consistency,
    verify_inclusion,
)

# The classic RFC 6962 test leaves and the roots of their first n leaves, n = 0..8
# (../shared/vectors/README.md).
CLASSIC_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CLASSIC_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

MAX_SIZE = 300


def make_leaves(seed: int, n: int) -> list[bytes]:
    return [leaf_hash(f"{seed}:{i}".encode()) for i in range(n)]


class PerfectStore:
    """What the ledger keeps: only hashes of perfect aligned subtrees, looked up by range."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.rows: dict[tuple[int, int], bytes] = {}
        frontier = MerkleFrontier()
        for done in frontier.extend(leaves):
            self.rows[(done.start, done.end)] = done.hash
        self.reads: list[tuple[int, int]] = []

    def perfect_hash(self, start: int, end: int) -> bytes:
        assert is_perfect(start, end), (start, end)
        self.reads.append((start, end))
        return self.rows[(start, end)]

    def subtree_hash(self, start: int, end: int) -> bytes:
        return range_hash_from_perfect(start, end, self.perfect_hash)


def flip(data: bytes, bit: int) -> bytes:
    buf = bytearray(data)
    buf[bit // 8 % len(buf)] ^= 1 << (bit % 8)
    return bytes(buf)


# ------------------------------------------------------------------------------------------
# Hashing and roots
# ------------------------------------------------------------------------------------------


def test_hash_functions() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L", b"R") == hashlib.sha256(b"\x01LR").digest()
    assert len(leaf_hash(b"")) == HASH_SIZE


@pytest.mark.parametrize("n", range(len(CLASSIC_ROOTS)))
def test_classic_roots(n: int) -> None:
    hashes = [leaf_hash(bytes.fromhex(x)) for x in CLASSIC_LEAVES[:n]]
    expected = bytes.fromhex(CLASSIC_ROOTS[n])
    assert root_from_leaf_hashes(hashes) == expected
    frontier = MerkleFrontier()
    frontier.extend(hashes)
    assert frontier.root() == expected
    if n:
        store = PerfectStore(hashes)
        assert store.subtree_hash(0, n) == expected


def test_classic_proofs_match_rfc_examples() -> None:
    # The tree of 7 leaves from RFC 9162 section 2.1.5: leaf d0's path is [b, h, l], i.e. the
    # hashes of ranges [1,2), [2,4), [4,7); the consistency proof from 3 to 7 is [c, d, g, l].
    assert inclusion_proof_ranges(0, 7) == [(1, 2), (2, 4), (4, 7)]
    assert inclusion_proof_ranges(3, 7) == [(2, 3), (0, 2), (4, 7)]
    assert inclusion_proof_ranges(4, 7) == [(5, 6), (6, 7), (0, 4)]
    assert inclusion_proof_ranges(6, 7) == [(4, 6), (0, 4)]
    assert consistency_proof_ranges(3, 7) == [(2, 3), (3, 4), (0, 2), (4, 7)]
    assert consistency_proof_ranges(4, 7) == [(4, 7)]
    assert consistency_proof_ranges(6, 7) == [(4, 6), (6, 7), (0, 4)]
    assert consistency_proof_ranges(7, 7) == []


# ------------------------------------------------------------------------------------------
# Ranges and perfect subtrees
# ------------------------------------------------------------------------------------------


def test_aligned_subtrees_examples() -> None:
    assert aligned_subtrees(0, 0) == []
    assert aligned_subtrees(0, 13) == [(0, 8), (8, 12), (12, 13)]
    assert aligned_subtrees(4, 7) == [(4, 6), (6, 7)]
    assert aligned_subtrees(1, 8) == [(1, 2), (2, 4), (4, 8)]
    assert aligned_subtrees(6, 6) == []
    with pytest.raises(ValueError):
        aligned_subtrees(5, 4)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 5000), st.integers(0, 5000))
def test_aligned_subtrees_cover_range_with_perfect_pieces(a: int, b: int) -> None:
    start, end = min(a, b), max(a, b)
    pieces = aligned_subtrees(start, end)
    position = start
    for s, e in pieces:
        assert s == position
        assert is_perfect(s, e)
        position = e
    assert position == end
    # Maximal: no two neighbouring pieces could be merged into one aligned block.
    for (s1, e1), (s2, e2) in itertools.pairwise(pieces):
        assert not (e1 - s1 == e2 - s2 and is_perfect(s1, e2))


def test_subtree_coordinates_round_trip() -> None:
    for level in range(6):
        for index in range(10):
            assert subtree_coordinates(*subtree_range(level, index)) == (level, index)
    with pytest.raises(ValueError):
        subtree_coordinates(2, 5)
    with pytest.raises(ValueError):
        subtree_coordinates(1, 3)


def test_range_hash_from_perfect_rejects_ranges_that_are_no_tree_node() -> None:
    store = PerfectStore(make_leaves(1, 8))
    with pytest.raises(ValueError):
        range_hash_from_perfect(1, 4, store.perfect_hash)
    assert range_hash_from_perfect(3, 3, store.perfect_hash) == EMPTY_ROOT


@settings(max_examples=150, deadline=None)
@given(st.integers(1, MAX_SIZE), st.integers(0, 2**32))
def test_range_hash_from_perfect_equals_recomputation(size: int, seed: int) -> None:
    leaves = make_leaves(seed, size)
    store = PerfectStore(leaves)
    assert store.subtree_hash(0, size) == root_from_leaf_hashes(leaves)
    for index in {0, size // 2, size - 1}:
        for s, e in inclusion_proof_ranges(index, size):
            assert store.subtree_hash(s, e) == root_from_leaf_hashes(leaves[s:e])


# ------------------------------------------------------------------------------------------
# Inclusion proofs
# ------------------------------------------------------------------------------------------


def test_all_inclusion_proofs_small_trees_exhaustive() -> None:
    for size in range(1, 65):
        leaves = make_leaves(size, size)
        root = root_from_leaf_hashes(leaves)
        store = PerfectStore(leaves)
        for index in range(size):
            proof = inclusion_proof(index, size, store.subtree_hash)
            verify_inclusion(index, size, leaves[index], proof, root)
            # The same leaf and proof do not verify at another position. (The size is not
            # checked by the proof alone: the signed checkpoint binds a size to its root.)
            if size > 1:
                with pytest.raises(ProofError):
                    verify_inclusion((index + 1) % size, size, leaves[index], proof, root)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_inclusion_proof_verifies_and_every_bit_flip_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, MAX_SIZE), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    seed = data.draw(st.integers(0, 2**32), label="seed")
    leaves = make_leaves(seed, size)
    root = root_from_leaf_hashes(leaves)

    in_memory = inclusion_proof(index, size, subtree_hash_over(leaves))
    store = PerfectStore(leaves)
    from_store = inclusion_proof(index, size, store.subtree_hash)
    assert in_memory == from_store
    verify_inclusion(index, size, leaves[index], from_store, root)
    assert root_from_inclusion_proof(index, size, leaves[index], from_store) == root

    targets = ["leaf", "root"] + [f"proof{i}" for i in range(len(from_store))]
    target = data.draw(st.sampled_from(targets), label="target")
    bit = data.draw(st.integers(0, 8 * HASH_SIZE - 1), label="bit")
    leaf, proof, bad_root = leaves[index], list(from_store), root
    if target == "leaf":
        leaf = flip(leaf, bit)
    elif target == "root":
        bad_root = flip(root, bit)
    else:
        i = int(target.removeprefix("proof"))
        proof[i] = flip(proof[i], bit)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, proof, bad_root)


def test_inclusion_rejects_malformed_input() -> None:
    leaves = make_leaves(7, 5)
    root = root_from_leaf_hashes(leaves)
    proof = inclusion_proof(2, 5, subtree_hash_over(leaves))
    with pytest.raises(ProofError, match="not in a tree"):
        verify_inclusion(5, 5, leaves[2], proof, root)
    with pytest.raises(ProofError, match="not in a tree"):
        verify_inclusion(0, 0, leaves[0], [], EMPTY_ROOT)
    with pytest.raises(ProofError, match="too few"):
        verify_inclusion(2, 5, leaves[2], proof[:-1], root)
    with pytest.raises(ProofError, match="too many"):
        verify_inclusion(2, 5, leaves[2], [*proof, proof[0]], root)
    with pytest.raises(ProofError, match="bytes long"):
        verify_inclusion(2, 5, leaves[2][:31], proof, root)
    with pytest.raises(ProofError, match="bytes long"):
        verify_inclusion(2, 5, leaves[2], [proof[0] + b"\x00", *proof[1:]], root)
    with pytest.raises(ProofError, match="bytes long"):
        verify_inclusion(2, 5, leaves[2], proof, root[:16])
    with pytest.raises(ValueError):
        inclusion_proof_ranges(3, 3)


# ------------------------------------------------------------------------------------------
# Consistency proofs
# ------------------------------------------------------------------------------------------


def test_all_consistency_proofs_small_trees_exhaustive() -> None:
    for size2 in range(1, 65):
        leaves = make_leaves(size2, size2)
        store = PerfectStore(leaves)
        root2 = root_from_leaf_hashes(leaves)
        for size1 in range(1, size2 + 1):
            root1 = root_from_leaf_hashes(leaves[:size1])
            proof = consistency_proof(size1, size2, store.subtree_hash)
            verify_consistency(size1, size2, root1, root2, proof)
            if size1 < size2:
                # A log that rewrote its past: the same sizes with another old root.
                with pytest.raises(ProofError):
                    verify_consistency(size1, size2, leaf_hash(b"forged"), root2, proof)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_consistency_proof_verifies_and_every_bit_flip_fails(data: st.DataObject) -> None:
    size2 = data.draw(st.integers(2, MAX_SIZE), label="size2")
    size1 = data.draw(st.integers(1, size2 - 1), label="size1")
    seed = data.draw(st.integers(0, 2**32), label="seed")
    leaves = make_leaves(seed, size2)
    root1 = root_from_leaf_hashes(leaves[:size1])
    root2 = root_from_leaf_hashes(leaves)

    in_memory = consistency_proof(size1, size2, subtree_hash_over(leaves))
    from_store = consistency_proof(size1, size2, PerfectStore(leaves).subtree_hash)
    assert in_memory == from_store
    verify_consistency(size1, size2, root1, root2, from_store)

    targets = ["root1", "root2"] + [f"proof{i}" for i in range(len(from_store))]
    target = data.draw(st.sampled_from(targets), label="target")
    bit = data.draw(st.integers(0, 8 * HASH_SIZE - 1), label="bit")
    proof = list(from_store)
    r1, r2 = root1, root2
    if target == "root1":
        r1 = flip(r1, bit)
    elif target == "root2":
        r2 = flip(r2, bit)
    else:
        i = int(target.removeprefix("proof"))
        proof[i] = flip(proof[i], bit)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, r1, r2, proof)


def test_consistency_rejects_malformed_input() -> None:
    leaves = make_leaves(3, 10)
    sh = subtree_hash_over(leaves)
    r6, r10 = root_from_leaf_hashes(leaves[:6]), root_from_leaf_hashes(leaves)
    proof = consistency_proof(6, 10, sh)
    verify_consistency(6, 10, r6, r10, proof)
    with pytest.raises(ProofError, match="larger"):
        verify_consistency(10, 6, r10, r6, proof)
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 10, EMPTY_ROOT, r10, proof)
    with pytest.raises(ProofError, match="empty"):
        verify_consistency(6, 10, r6, r10, [])
    with pytest.raises(ProofError, match="too few"):
        verify_consistency(6, 10, r6, r10, proof[:-1])
    with pytest.raises(ProofError, match="too many"):
        verify_consistency(6, 10, r6, r10, [*proof, proof[0]])
    with pytest.raises(ProofError, match="same size"):
        verify_consistency(10, 10, r10, r10, proof)
    with pytest.raises(ProofError, match="different roots"):
        verify_consistency(10, 10, r10, r6, [])
    verify_consistency(10, 10, r10, r10, [])
    with pytest.raises(ValueError):
        consistency_proof_ranges(0, 4)
    with pytest.raises(ValueError):
        consistency_proof_ranges(5, 4)


# ------------------------------------------------------------------------------------------
# MerkleFrontier and the ledger's read budget
# ------------------------------------------------------------------------------------------


def test_frontier_root_equals_reference_for_every_size() -> None:
    leaves = make_leaves(42, MAX_SIZE)
    frontier = MerkleFrontier()
    assert frontier.root() == EMPTY_ROOT
    for n in range(1, MAX_SIZE + 1):
        frontier.append(leaves[n - 1])
        assert frontier.size == n
        assert frontier.root() == root_from_leaf_hashes(leaves[:n])


def test_frontier_reports_completed_subtrees() -> None:
    leaves = make_leaves(5, 8)
    frontier = MerkleFrontier()
    assert frontier.extend(leaves[:3]) == [
        CompletedSubtree(0, 0, leaves[0]),
        CompletedSubtree(0, 1, leaves[1]),
        CompletedSubtree(1, 0, node_hash(leaves[0], leaves[1])),
        CompletedSubtree(0, 2, leaves[2]),
    ]
    done = frontier.append(leaves[3])
    assert [(c.level, c.index, c.start, c.end) for c in done] == [
        (0, 3, 3, 4),
        (1, 1, 2, 4),
        (2, 0, 0, 4),
    ]
    assert done[-1].hash == root_from_leaf_hashes(leaves[:4])


@settings(max_examples=100, deadline=None)
@given(st.integers(0, MAX_SIZE), st.integers(0, MAX_SIZE), st.integers(0, 2**32))
def test_frontier_resumes_from_stored_hashes(size: int, more: int, seed: int) -> None:
    leaves = make_leaves(seed, size + more)
    store = PerfectStore(leaves[:size])
    # The ledger reloads the frontier from its stored rows, appends a batch, and persists the
    # completed subtrees; the result must be as if it had never stopped.
    hashes = [store.rows[r] for r in aligned_subtrees(0, size)]
    resumed = MerkleFrontier(size, hashes)
    assert resumed.root() == root_from_leaf_hashes(leaves[:size])
    for done in resumed.extend(leaves[size:]):
        assert root_from_leaf_hashes(leaves[done.start : done.end]) == done.hash
    assert resumed.root() == root_from_leaf_hashes(leaves)
    assert list(resumed.hashes) == [
        root_from_leaf_hashes(leaves[s:e]) for s, e in aligned_subtrees(0, size + more)
    ]


def test_frontier_rejects_wrong_state() -> None:
    with pytest.raises(ValueError):
        MerkleFrontier(3, [EMPTY_ROOT])
    with pytest.raises(ValueError):
        MerkleFrontier(1, [b"short"])
    with pytest.raises(ValueError):
        MerkleFrontier().append(b"short")


def _reads(ranges_for: Callable[[int, int], list[tuple[int, int]]], a: int, n: int) -> int:
    return len(perfect_pieces(ranges_for(a, n)))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2**40), st.data())
def test_proofs_need_logarithmically_many_stored_rows(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    bound = 2 * size.bit_length()
    assert len(inclusion_proof_ranges(index, size)) <= size.bit_length()
    assert _reads(inclusion_proof_ranges, index, size) <= bound
    assert _reads(consistency_proof_ranges, old, size) <= bound
    assert len(aligned_subtrees(0, size)) <= size.bit_length()


def test_store_reads_are_exactly_the_listed_pieces() -> None:
    leaves = make_leaves(9, 277)
    store = PerfectStore(leaves)
    needed = perfect_pieces(inclusion_proof_ranges(100, 277))
    inclusion_proof(100, 277, store.subtree_hash)
    assert set(store.reads) == set(needed)
    assert len(store.reads) == len(needed)  # no range is read twice
