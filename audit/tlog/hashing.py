"""The two hash functions of an RFC 6962 / RFC 9162 Merkle tree, with SHA-256.

A leaf and an interior node are hashed with different one-byte prefixes (0x00 and 0x01), so
that nobody can present an interior node as if it were a leaf or the other way round
(RFC 9162, section 2.1.1).
"""

from __future__ import annotations

import hashlib
from typing import Final

HASH_SIZE: Final = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""Root hash of the tree with no leaves: SHA-256 of the empty string."""

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Return SHA-256(0x00 || data), the hash of one log entry as a tree leaf."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right), the hash of an interior node.

    left and right are the hashes of the node's two children, left first.
    """
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()
