"""Receipts: offline proofs that one log entry is in the log (c2sp.org/tlog-proof@v1).

Exact format (UTF-8, every line ends with a newline U+000A)::

    c2sp.org/tlog-proof@v1
    extra <base64 of the entry's leaf bytes>          (optional line, see below)
    index <zero-based index of the entry, decimal, no leading zeros>
    <base64 inclusion proof hash, leaf's sibling first>
    ... one 32-byte hash per line, up to the root's child (none for a tree of one leaf) ...
    <empty line>
    <the signed checkpoint note, verbatim: origin, size, root, blank line, signature lines,
     then any witness cosignature lines>

Where the leaf bytes travel. The specification allows one optional "extra" line of opaque
base64 data "necessary to reconstruct the record hash", which applications must not trust
implicitly. Yaritori puts the entry's exact leaf bytes (its RFC 8785 canonical JSON) there, so a
receipt file is self-contained: the verifier hashes those bytes as an RFC 6962 leaf
(SHA-256(0x00 || bytes)) and checks that hash against the signed root. Nothing in the extra
line is believed before that check succeeds, and after it succeeds the bytes are exactly what
the log committed to. A receipt without the extra line is valid too; then the leaf bytes must be
supplied separately (verify_receipt's leaf_bytes, or --leaf on the command line). If both are
present they must be identical.

Receipt files should be named with the extension ".tlog-proof".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ._text import b64decode_strict, b64encode, parse_decimal
from .checkpoint import Checkpoint
from .cosignature import Cosignature, WitnessVerifier, cosignatures_from
from .errors import ReceiptError, TlogError
from .hashing import HASH_SIZE, leaf_hash
from .merkle import verify_inclusion
from .note import NoteSignature, NoteVerifier, open_note, parse_note

__all__ = ["RECEIPT_HEADER", "Receipt", "ReceiptError", "VerifiedReceipt", "verify_receipt"]

RECEIPT_HEADER: Final = "c2sp.org/tlog-proof@v1"

# A tree of at most 2**64 leaves has inclusion proofs of at most 64 hashes.
_MAX_PROOF_HASHES: Final = 64


@dataclass(frozen=True)
class Receipt:
    """The parts of a tlog-proof: entry index, inclusion proof, signed checkpoint, extra data.

    `extra` carries the entry's leaf bytes in Yaritori receipts (None when absent).
    `checkpoint_note` is the complete signed note, signatures included.
    """

    index: int
    proof: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if self.index < 0:
            raise ReceiptError(f"receipt index {self.index} is negative")
        object.__setattr__(self, "proof", tuple(self.proof))
        if len(self.proof) > _MAX_PROOF_HASHES:
            raise ReceiptError(f"receipt proof has {len(self.proof)} hashes, at most 64 possible")
        for h in self.proof:
            if len(h) != HASH_SIZE:
                raise ReceiptError(f"receipt proof hash is {len(h)} bytes long, expected 32")
        try:
            parse_note(self.checkpoint_note)
        except TlogError as exc:
            raise ReceiptError(f"receipt checkpoint is not a signed note: {exc}") from exc

    def to_text(self) -> str:
        """The receipt in the tlog-proof text format described in the module docstring."""
        lines = [RECEIPT_HEADER]
        if self.extra is not None:
            lines.append(f"extra {b64encode(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(b64encode(h) for h in self.proof)
        lines.append("")
        return "".join(line + "\n" for line in lines) + self.checkpoint_note

    @classmethod
    def parse(cls, text: str) -> Receipt:
        """Parse the tlog-proof text format. Raises ReceiptError if it is malformed.

        Only the form is checked (including that the checkpoint part is a well-formed signed
        note); signatures and the proof are checked by verify_receipt().
        """
        lines = text.split("\n")
        # After the empty line everything else is the checkpoint note, which has blank lines
        # of its own; so walk line by line up to the first empty one.
        if lines[0] != RECEIPT_HEADER:
            raise ReceiptError(f"receipt does not start with {RECEIPT_HEADER}")
        position = 1
        extra = None
        if position < len(lines) and lines[position].startswith("extra "):
            extra = b64decode_strict(lines[position][len("extra ") :])
            if extra is None:
                raise ReceiptError("receipt extra line is not canonical base64")
            position += 1
        if position >= len(lines) or not lines[position].startswith("index "):
            raise ReceiptError("receipt has no 'index N' line after its header")
        index = parse_decimal(lines[position][len("index ") :])
        if index is None:
            raise ReceiptError("receipt index is not a decimal without leading zeros")
        position += 1
        proof: list[bytes] = []
        while position < len(lines) and lines[position] != "":
            h = b64decode_strict(lines[position])
            if h is None or len(h) != HASH_SIZE:
                raise ReceiptError(f"receipt proof line {len(proof) + 1} is not a base64 hash")
            proof.append(h)
            position += 1
        if position >= len(lines):
            raise ReceiptError("receipt has no empty line before its checkpoint")
        checkpoint_note = "\n".join(lines[position + 1 :])
        if not checkpoint_note:
            raise ReceiptError("receipt has no checkpoint")
        return cls(index, tuple(proof), checkpoint_note, extra)


@dataclass(frozen=True)
class VerifiedReceipt:
    """What a successful verify_receipt() established."""

    checkpoint: Checkpoint
    """The signed checkpoint the entry is included in."""
    index: int
    """The entry's zero-based position in the log."""
    leaf: bytes
    """The entry's exact leaf bytes (canonical JSON for Yaritori)."""
    leaf_hash: bytes
    """SHA-256(0x00 || leaf)."""
    log_signature: NoteSignature
    """The log's verified signature on the checkpoint."""
    cosignatures: tuple[Cosignature, ...]
    """Verified cosignatures by the witnesses that were asked for."""


def verify_receipt(
    receipt_text: str,
    leaf_bytes: bytes | None,
    verifier: NoteVerifier,
    *,
    origin: str | None = None,
    witnesses: Sequence[WitnessVerifier] = (),
    quorum: int | None = None,
) -> VerifiedReceipt:
    """Check that a receipt proves that leaf_bytes is entry `index` of a log signed by verifier.

    Steps, each raising ReceiptError with the reason on failure:

    1. the receipt follows the tlog-proof format;
    2. the checkpoint note carries a valid signature by `verifier` (the log's public key), and
       every signature in it by a key in `witnesses` is valid;
    3. the note text is a valid checkpoint, and its origin equals `origin` when one is given;
    4. the leaf bytes are leaf_bytes, or else the receipt's extra line (if both are given they
       must be equal);
    5. the inclusion proof leads from SHA-256(0x00 || leaf) at `index` to the checkpoint's root;
    6. at least `quorum` distinct witnesses (default: all of `witnesses`) cosigned.
    """
    try:
        receipt = Receipt.parse(receipt_text)
    except TlogError as exc:
        raise ReceiptError(f"malformed receipt: {exc}") from exc

    try:
        text, verified = open_note(receipt.checkpoint_note, [verifier, *witnesses])
    except TlogError as exc:
        raise ReceiptError(f"checkpoint signature: {exc}") from exc
    log_signatures = [s for s in verified if (s.name, s.key_id) == (verifier.name, verifier.key_id)]
    if not log_signatures:
        key = f"{verifier.name}+{verifier.key_id.hex()}"
        raise ReceiptError(f"checkpoint signature: not signed by the log key {key}")

    try:
        checkpoint = Checkpoint.parse(text)
    except TlogError as exc:
        raise ReceiptError(f"checkpoint: {exc}") from exc
    if origin is not None and checkpoint.origin != origin:
        raise ReceiptError(f"checkpoint is for log {checkpoint.origin!r}, expected {origin!r}")

    if leaf_bytes is None:
        if receipt.extra is None:
            raise ReceiptError("receipt carries no leaf bytes and none were given")
        leaf = receipt.extra
    else:
        if receipt.extra is not None and receipt.extra != leaf_bytes:
            raise ReceiptError("the given leaf differs from the leaf carried in the receipt")
        leaf = leaf_bytes

    hashed = leaf_hash(leaf)
    try:
        verify_inclusion(
            receipt.index, checkpoint.size, hashed, receipt.proof, checkpoint.root_hash
        )
    except TlogError as exc:
        raise ReceiptError(f"inclusion: {exc}") from exc

    cosignatures = cosignatures_from(verified, witnesses)
    needed = len(witnesses) if quorum is None else quorum
    if len({(c.name, c.key_id) for c in cosignatures}) < needed:
        raise ReceiptError(
            f"only {len(cosignatures)} of the required {needed} witness cosignatures are present"
        )

    return VerifiedReceipt(
        checkpoint=checkpoint,
        index=receipt.index,
        leaf=leaf,
        leaf_hash=hashed,
        log_signature=log_signatures[0],
        cosignatures=tuple(cosignatures),
    )
