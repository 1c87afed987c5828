"""Exceptions raised by audit.tlog.

Every failure to verify something raises a subclass of TlogError, which is itself a ValueError,
so a caller can catch all of them at once (the command-line verifier does) or one kind only.
The message says in plain words what did not hold.
"""

from __future__ import annotations


class TlogError(ValueError):
    """Something given to audit.tlog is malformed or does not verify."""


class ProofError(TlogError):
    """A Merkle inclusion or consistency proof is malformed or does not verify."""


class NoteError(TlogError):
    """A signed note, a signature on it, or a key text is malformed or does not verify."""


class CheckpointError(TlogError):
    """A checkpoint body does not follow c2sp.org/tlog-checkpoint."""


class ReceiptError(TlogError):
    """A receipt (c2sp.org/tlog-proof) is malformed or does not prove what it claims."""
