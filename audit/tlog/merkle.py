"""RFC 6962 / RFC 9162 Merkle trees: roots, proof generation and proof verification.

Vocabulary used throughout this module
--------------------------------------
* Leaves are numbered from 0. A *range* ``(start, end)`` means the leaves ``start .. end-1``
  (end excluded), and "the hash of a range" means the Merkle Tree Hash MTH of exactly those
  leaves as defined in RFC 9162 section 2.1.1: the hash of one leaf is its leaf hash, and the
  hash of n > 1 leaves is ``node_hash(MTH(first k), MTH(the rest))`` where k is the largest power
  of two strictly smaller than n. The empty range hashes to EMPTY_ROOT.
* A *perfect* (aligned) subtree is a range ``[i * 2**h, (i + 1) * 2**h)``: 2**h leaves starting
  at a multiple of 2**h. It is identified by its *level* h and *index* i. Once the log holds
  all of its leaves its hash never changes, which is why the ledger stores exactly these.
* Proofs also need the hashes of ranges that are not perfect: the right edge of a tree whose
  size is not a power of two, e.g. ``[4, 7)`` in a tree of 7 leaves. Such a range splits into
  perfect pieces of strictly decreasing size (``[4, 6)`` then ``[6, 7)``), and its hash is found
  by folding those pieces from the right: ``node_hash(H[4,6), H[6,7))``; with more pieces
  ``node_hash(p1, node_hash(p2, node_hash(p3, p4)))``. range_hash_from_perfect() does exactly
  that, so the ledger can answer any proof from stored perfect-subtree hashes alone.

Serving a proof in O(log n) reads
---------------------------------
::

    ranges = inclusion_proof_ranges(index, size)          # the ranges the proof consists of
    needed = perfect_pieces(ranges)                       # the stored rows to fetch, in ONE query
    stored = {(start, end): hash for ...}                 # fetched from the database
    proof = inclusion_proof(
        index, size, lambda s, e: range_hash_from_perfect(s, e, lambda a, b: stored[(a, b)])
    )

Both lists have at most about 2*log2(size) entries. consistency_proof_ranges() works the same
way for consistency proofs, and ``aligned_subtrees(0, size)`` lists the pieces of the root.

Verification follows the algorithms of RFC 9162 sections 2.1.3.2 (inclusion) and 2.1.4.2
(consistency) step by step, and agrees with the test vectors of transparency-dev/merkle: every
hash it uses must be 32 bytes, a consistency proof from size 0 is rejected, and two equal sizes
need an empty proof and equal roots.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .errors import ProofError
from .hashing import EMPTY_ROOT, HASH_SIZE, node_hash

__all__ = [
    "CompletedSubtree",
    "MerkleFrontier",
    "ProofError",
    "Range",
    "SubtreeHash",
    "aligned_subtrees",
    "consistency_proof",
    "consistency_proof_ranges",
    "inclusion_proof",
    "inclusion_proof_ranges",
    "is_perfect",
    "perfect_pieces",
    "range_hash_from_perfect",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "subtree_coordinates",
    "subtree_hash_over",
    "subtree_range",
    "verify_consistency",
    "verify_inclusion",
]

Range = tuple[int, int]
"""Leaves start .. end-1 of the log, written (start, end)."""

SubtreeHash = Callable[[int, int], bytes]
"""A function returning the Merkle Tree Hash of the range (start, end)."""


# --------------------------------------------------------------------------------------------
# Shapes of trees and ranges
# --------------------------------------------------------------------------------------------


def _split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2): where RFC 6962 splits n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def is_perfect(start: int, end: int) -> bool:
    """True if [start, end) is a perfect aligned subtree: 2**h leaves from a multiple of 2**h."""
    n = end - start
    return start >= 0 and n > 0 and n & (n - 1) == 0 and start % n == 0


def subtree_range(level: int, index: int) -> Range:
    """The range of the perfect subtree at level (height) `level` and position `index`.

    Level 0 holds single leaves, so subtree_range(0, i) == (i, i + 1).
    """
    if level < 0 or index < 0:
        raise ValueError(f"level and index must be >= 0, got level={level} index={index}")
    return index << level, (index + 1) << level


def subtree_coordinates(start: int, end: int) -> tuple[int, int]:
    """The (level, index) of a perfect aligned subtree; the inverse of subtree_range().

    Raises ValueError if (start, end) is not perfect.
    """
    if not is_perfect(start, end):
        raise ValueError(f"[{start}, {end}) is not a perfect aligned subtree")
    level = (end - start).bit_length() - 1
    return level, start >> level


def aligned_subtrees(start: int, end: int) -> list[Range]:
    """Split [start, end) into maximal perfect aligned subtrees, left to right.

    Each piece is the largest power-of-two block that starts at the current position, is aligned
    to its own size, and still fits before end. For start == 0 this is the binary expansion of
    end, e.g. aligned_subtrees(0, 13) == [(0, 8), (8, 12), (12, 13)]; those are the subtrees
    whose hashes make up a tree's right-edge "frontier". The empty range gives [].
    """
    if not 0 <= start <= end:
        raise ValueError(f"not a range: [{start}, {end})")
    pieces: list[Range] = []
    while start < end:
        size = 1 << ((end - start).bit_length() - 1)  # the largest block that fits
        if start:
            # start & -start is the largest power of two dividing start: a block may not be
            # bigger than that, or it would not be aligned.
            size = min(size, start & -start)
        pieces.append((start, start + size))
        start += size
    return pieces


def perfect_pieces(ranges: Iterable[Range]) -> list[Range]:
    """The perfect aligned subtrees needed to compute the hash of every range in `ranges`.

    The result has no duplicates and keeps first-seen order; it is the list of stored rows to
    fetch before calling range_hash_from_perfect() for each range.
    """
    seen: dict[Range, None] = {}
    for start, end in ranges:
        for piece in aligned_subtrees(start, end):
            seen[piece] = None
    return list(seen)


def range_hash_from_perfect(start: int, end: int, perfect_hash: SubtreeHash) -> bytes:
    """The Merkle Tree Hash of [start, end), computed from perfect-subtree hashes only.

    perfect_hash(s, e) is only ever called for perfect aligned subtrees (see aligned_subtrees);
    the ledger answers it from its stored rows. The pieces are folded from the right, which is
    exactly how RFC 6962 splits a range whose size is not a power of two.

    [start, end) must be a range that occurs as a node of some RFC 6962 tree, i.e. start is a
    multiple of the largest power of two not above end - start; every range used by a proof
    or a root qualifies. Other ranges raise ValueError, because their Merkle Tree Hash is not a
    fold of aligned pieces. The empty range hashes to EMPTY_ROOT.
    """
    if start == end:
        return EMPTY_ROOT
    pieces = aligned_subtrees(start, end)
    sizes = [e - s for s, e in pieces]
    if any(a <= b for a, b in itertools.pairwise(sizes)):
        raise ValueError(f"[{start}, {end}) is not a subtree of any RFC 6962 tree")
    result = perfect_hash(*pieces[-1])
    for piece in reversed(pieces[:-1]):
        result = node_hash(perfect_hash(*piece), result)
    return result


# --------------------------------------------------------------------------------------------
# Roots and proof generation
# --------------------------------------------------------------------------------------------


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash (RFC 9162 section 2.1.1) of a list of leaf hashes.

    This rehashes the whole list (O(n)); it is the reference definition that the faster ways of
    getting a root (MerkleFrontier, range_hash_from_perfect) are tested against.
    """

    def mth(start: int, end: int) -> bytes:
        n = end - start
        if n == 1:
            return hashes[start]
        k = _split_point(n)
        return node_hash(mth(start, start + k), mth(start + k, end))

    if not hashes:
        return EMPTY_ROOT
    return mth(0, len(hashes))


def subtree_hash_over(leaf_hashes: Sequence[bytes]) -> SubtreeHash:
    """A SubtreeHash that rehashes the given in-memory leaf hashes (for tests and small trees)."""

    def subtree_hash(start: int, end: int) -> bytes:
        if not 0 <= start <= end <= len(leaf_hashes):
            raise ValueError(f"[{start}, {end}) is outside a tree of {len(leaf_hashes)} leaves")
        return root_from_leaf_hashes(leaf_hashes[start:end])

    return subtree_hash


def inclusion_proof_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes form the inclusion proof of leaf `index` in a tree of `size` leaves.

    Ordered as in the proof: the leaf's sibling first, the root's child last (RFC 9162
    section 2.1.3.1, PATH(m, D[n])). Some ranges may be non-perfect right edges.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    ranges: list[Range] = []
    start, end = 0, size
    # Walk from the root down to the leaf; at each split the proof needs the other half.
    while end - start > 1:
        mid = start + _split_point(end - start)
        if index < mid:
            ranges.append((mid, end))
            end = mid
        else:
            ranges.append((start, mid))
            start = mid
    ranges.reverse()  # collected root-first, the proof lists them leaf-first
    return ranges


def consistency_proof_ranges(old_size: int, new_size: int) -> list[Range]:
    """The ranges whose hashes form the consistency proof from old_size to new_size.

    Follows RFC 9162 section 2.1.4.1 (SUBPROOF). Equal sizes need no proof and give [];
    old_size must be at least 1, since nothing can be proven about the empty tree.
    """
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    ranges: list[Range] = []
    start, end = 0, new_size
    # Walk down from the root of the new tree until the node that ends where the old tree ends.
    # If the walk only ever went left, that node is the whole old tree: the verifier already has
    # its hash (the old root), so the proof leaves it out (RFC 9162 SUBPROOF with b = true).
    old_root_is_known = True
    while end != old_size:
        mid = start + _split_point(end - start)
        if old_size <= mid:
            ranges.append((mid, end))
            end = mid
        else:
            ranges.append((start, mid))
            start = mid
            old_root_is_known = False
    if not old_root_is_known:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """The inclusion proof of leaf `index` in the tree of the first `size` leaves.

    subtree_hash(start, end) must return the Merkle Tree Hash of that range; it is called once
    per range of inclusion_proof_ranges(index, size), in that order.
    """
    return [subtree_hash(s, e) for s, e in inclusion_proof_ranges(index, size)]


def consistency_proof(old_size: int, new_size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """The consistency proof that the tree of old_size leaves is a prefix of the one of new_size.

    subtree_hash is called once per range of consistency_proof_ranges(old_size, new_size).
    """
    return [subtree_hash(s, e) for s, e in consistency_proof_ranges(old_size, new_size)]


# --------------------------------------------------------------------------------------------
# Verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2)
# --------------------------------------------------------------------------------------------
#
# Both algorithms walk up the tree with two numbers: fn, the position of the node whose hash
# we hold among the nodes of its level, and sn, the position of the last node of that level.
# Shifting both right by one moves one level up. If fn is odd, our node is a right child and
# the next proof hash is its left sibling. If fn == sn and fn is even, our node is the last of
# its level with no right sibling: RFC 6962 promotes it unchanged, so we climb until it becomes
# a right child, and the next proof hash is a left sibling there. Otherwise the next proof hash
# is a right sibling. When sn reaches 0 we are at the root.


def _require_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes long, a SHA-256 hash is {HASH_SIZE}")


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root that `proof` leads to from leaf `index` with hash leaf_hash in a tree of `size`.

    Raises ProofError if the index is outside the tree, a hash is not 32 bytes, or the proof has
    the wrong number of hashes for this index and size. A returned root still has to be compared
    with a trusted one; verify_inclusion() does both.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    _require_hash("leaf hash", leaf_hash)
    for i, p in enumerate(proof):
        _require_hash(f"proof hash #{i}", p)
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError(f"inclusion proof has too many hashes ({len(proof)})")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"inclusion proof has too few hashes ({len(proof)})")
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that leaf_hash is leaf `index` of the tree of `size` leaves whose root is `root`.

    Returns None on success and raises ProofError (a ValueError) on any failure.
    """
    _require_hash("root hash", root)
    computed = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if computed != root:
        raise ProofError(
            f"inclusion proof for leaf {index} does not lead to the root of the tree of size {size}"
        )


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of size1 leaves with root1 is a prefix of the tree of size2 with root2.

    In other words: going from the old checkpoint to the new one, the log only appended
    entries and rewrote none. Returns None on success; raises ProofError (a ValueError) on any
    failure, including size1 > size2 and size1 == 0 (a proof from the empty tree proves
    nothing, so it is always refused, as in transparency-dev/merkle). Equal sizes above 0 are
    consistent exactly when the proof is empty and the roots are equal; the roots are then only
    compared, never hashed, so their length does not matter.
    """
    if size1 < 0 or size2 < 0:
        raise ProofError(f"tree sizes cannot be negative ({size1}, {size2})")
    if size1 > size2:
        raise ProofError(f"the first tree ({size1}) is larger than the second ({size2})")
    if size1 == 0:
        # Even 0 -> 0: the empty tree is a prefix of everything, so a "proof" from it shows
        # nothing. A protocol that meets its first checkpoint trusts it on first use instead.
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if size1 == size2:
        if proof:
            raise ProofError("the trees have the same size, so the proof must be empty")
        if root1 != root2:
            raise ProofError(f"two different roots for the same tree size {size1}")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    _require_hash("first root hash", root1)
    _require_hash("second root hash", root2)
    for i, p in enumerate(proof):
        _require_hash(f"proof hash #{i}", p)

    path = list(proof)
    if size1 & (size1 - 1) == 0:
        # The old tree is a perfect subtree of the new one, so its root is the starting node and
        # the proof leaves it out (RFC 9162 step 2).
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    # Skip the levels where the old tree's last node is a right child inside the starting node.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # fr rebuilds the old root, sr the new one
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof has too many hashes ({len(proof)})")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            # Hashes right of the old tree's edge belong to the new tree only.
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof has too few hashes ({len(proof)})")
    if fr != root1:
        raise ProofError(f"consistency proof does not lead to the root of the tree of size {size1}")
    if sr != root2:
        raise ProofError(f"consistency proof does not lead to the root of the tree of size {size2}")


# --------------------------------------------------------------------------------------------
# Appending leaves
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompletedSubtree:
    """A perfect aligned subtree whose last leaf has just been appended, with its final hash.

    level is its height (0 for a single leaf) and index its position among the subtrees of that
    level, so it covers leaves [index * 2**level, (index + 1) * 2**level).
    """

    level: int
    index: int
    hash: bytes

    @property
    def start(self) -> int:
        """First leaf of the subtree."""
        return self.index << self.level

    @property
    def end(self) -> int:
        """One past the last leaf of the subtree."""
        return (self.index + 1) << self.level


class MerkleFrontier:
    """The right edge of a growing Merkle tree: enough state to append leaves and get roots.

    For a tree of n leaves the frontier is the hashes of aligned_subtrees(0, n): one perfect
    subtree per 1-bit of n, largest first. That is all an appender needs; everything to the
    left of it is final. The ledger loads these rows, appends a batch, persists every
    CompletedSubtree returned, and stores the new root.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        """Start from a tree of `size` leaves whose frontier hashes are `hashes`, left to right.

        Raises ValueError unless there is one 32-byte hash per range of aligned_subtrees(0, size).
        """
        ranges = aligned_subtrees(0, size)
        if len(hashes) != len(ranges):
            raise ValueError(
                f"a tree of size {size} has {len(ranges)} frontier subtrees, got {len(hashes)}"
            )
        for h in hashes:
            if len(h) != HASH_SIZE:
                raise ValueError(f"frontier hash is {len(h)} bytes long, expected {HASH_SIZE}")
        self._size = size
        # (level, hash) pairs, levels strictly decreasing from left to right.
        self._nodes: list[tuple[int, bytes]] = [
            (subtree_coordinates(s, e)[0], h) for (s, e), h in zip(ranges, hashes, strict=True)
        ]

    @property
    def size(self) -> int:
        """Number of leaves appended so far (including those of the starting tree)."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The frontier hashes, for the ranges aligned_subtrees(0, self.size), left to right."""
        return tuple(h for _, h in self._nodes)

    def append(self, leaf_hash: bytes) -> list[CompletedSubtree]:
        """Append one leaf hash; return the perfect subtrees this leaf completes, smallest first.

        The first item is always the leaf itself (level 0). When the new size is a multiple of
        2**h, the subtree of level h ending at this leaf is complete too and is listed.
        """
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash is {len(leaf_hash)} bytes long, expected {HASH_SIZE}")
        position = self._size
        level, current = 0, leaf_hash
        completed = [CompletedSubtree(0, position, leaf_hash)]
        # Two neighbouring perfect subtrees of the same level merge into one of the next level.
        while self._nodes and self._nodes[-1][0] == level:
            _, left = self._nodes.pop()
            current = node_hash(left, current)
            level += 1
            completed.append(CompletedSubtree(level, position >> level, current))
        self._nodes.append((level, current))
        self._size += 1
        return completed

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[CompletedSubtree]:
        """Append several leaf hashes in order; return all subtrees they complete, in order."""
        completed: list[CompletedSubtree] = []
        for h in leaf_hashes:
            completed.extend(self.append(h))
        return completed

    def root(self) -> bytes:
        """The Merkle Tree Hash of the current tree; EMPTY_ROOT when there are no leaves."""
        if not self._nodes:
            return EMPTY_ROOT
        result = self._nodes[-1][1]
        for _, h in reversed(self._nodes[:-1]):
            result = node_hash(h, result)
        return result
