"""Witness cosignatures of checkpoints (c2sp.org/tlog-cosignature, Ed25519 "cosignature/v1").

A witness that has checked a checkpoint to be consistent with everything it saw before from the
same log adds its own signature line to the checkpoint note. The line has the usual signed-note
form, "— <witness name> base64(key ID || timestamped signature)", where::

    key ID                = SHA-256(name || 0x0A || 0x04 || 32-byte Ed25519 public key)[:4]
    timestamped signature = timestamp (8 bytes, big-endian, seconds since the Epoch, < 2**63)
                            || Ed25519 signature (64 bytes)
    signed message        = "cosignature/v1\\n" + "time <timestamp>\\n" + checkpoint body

The checkpoint body is the note text: origin, size, root (and any extension lines) with their
newlines, no signature lines. A cosignature says: as of that time, this is the largest tree the
witness has seen for this log, and it is consistent with all earlier ones.

Witness keys use the signed-note key texts with algorithm byte 0x04 instead of 0x01:
"name+keyid+base64(0x04 || public key)" and "PRIVATE+KEY+name+keyid+base64(0x04 || seed)".
WitnessVerifier fits note.open_note(), so one call can check the log's signature and the
witnesses' together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .checkpoint import Checkpoint
from .errors import CheckpointError, NoteError
from .note import (
    NoteSignature,
    NoteVerifier,
    add_signature_lines,
    check_key_name,
    decode_signer_key,
    decode_verifier_key,
    ed25519_private_key_from_seed,
    encode_signer_key,
    encode_verifier_key,
    format_signature_line,
    key_id,
    open_note,
    parse_note,
)

__all__ = [
    "ALG_COSIGNATURE_V1",
    "COSIGNATURE_HEADER",
    "MAX_TIMESTAMP",
    "Cosignature",
    "WitnessSigner",
    "WitnessVerifier",
    "add_cosignature",
    "cosign",
    "cosignatures_from",
    "cosigned_message",
    "generate_witness",
    "parse_witness_signer_key",
    "parse_witness_verifier_key",
    "verify_cosignature",
]

ALG_COSIGNATURE_V1: Final = 0x04
"""Signature type byte of timestamped Ed25519 witness cosignatures."""

COSIGNATURE_HEADER: Final = "cosignature/v1\n"
"""First line of every cosigned message: keeps these signatures apart from any other use."""

MAX_TIMESTAMP: Final = 2**63 - 1

_TIMESTAMP_SIZE: Final = 8
_ED25519_SIGNATURE_SIZE: Final = 64


def cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    """The bytes a witness signs: "cosignature/v1\\ntime <timestamp>\\n" + checkpoint body."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError(f"cosignature timestamp {timestamp} is outside 0 .. 2**63-1")
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{checkpoint_text}".encode()


def _raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class WitnessVerifier:
    """A witness's Ed25519 public key with its name (key ID with algorithm 0x04).

    Implements note.NoteVerifier: verify() takes the note text and the decoded signature
    (timestamp || Ed25519 signature) and rebuilds the cosigned message itself.
    """

    name: str
    public_key: Ed25519PublicKey = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def public_key_bytes(self) -> bytes:
        """The 32-byte raw Ed25519 public key."""
        return _raw_public_key(self.public_key)

    @property
    def key_id(self) -> bytes:
        """SHA-256(name || 0x0A || 0x04 || public key)[:4]."""
        return key_id(self.name, ALG_COSIGNATURE_V1, self.public_key_bytes)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True if signature (timestamp || Ed25519 signature) is valid for the note text message."""
        if len(signature) != _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        try:
            signed = cosigned_message(message.decode("utf-8"), timestamp)
            self.public_key.verify(signature[_TIMESTAMP_SIZE:], signed)
        except (InvalidSignature, UnicodeDecodeError):
            return False
        return True

    def to_key_text(self) -> str:
        """The verifier key text name+keyid+base64(0x04 || public key)."""
        return encode_verifier_key(self.name, ALG_COSIGNATURE_V1, self.public_key_bytes)


@dataclass(frozen=True)
class WitnessSigner:
    """A witness's Ed25519 private key with its name."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def key_id(self) -> bytes:
        """The key ID of the matching WitnessVerifier."""
        return self.verifier().key_id

    def verifier(self) -> WitnessVerifier:
        """The WitnessVerifier for this signer's public key."""
        return WitnessVerifier(self.name, self.private_key.public_key())

    def timestamped_signature(self, checkpoint_text: str, timestamp: int) -> bytes:
        """timestamp (8 bytes big-endian) || Ed25519 signature over cosigned_message()."""
        signature = self.private_key.sign(cosigned_message(checkpoint_text, timestamp))
        return timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature

    def to_key_text(self) -> str:
        """The signer key text PRIVATE+KEY+name+keyid+base64(0x04 || seed). Keep it secret."""
        seed = self.private_key.private_bytes_raw()
        public = self.verifier().public_key_bytes
        return encode_signer_key(self.name, ALG_COSIGNATURE_V1, public, seed)


def parse_witness_verifier_key(text: str) -> WitnessVerifier:
    """Parse a witness verifier key text (algorithm 0x04). Raises NoteError."""
    name, _kid, algorithm, public_key = decode_verifier_key(text.strip())
    if algorithm != ALG_COSIGNATURE_V1:
        raise NoteError(f"witness key {name!r} has algorithm {algorithm:#04x}, expected 0x04")
    if len(public_key) != 32:
        raise NoteError(f"witness key {name!r}: an Ed25519 public key is 32 bytes")
    return WitnessVerifier(name, Ed25519PublicKey.from_public_bytes(public_key))


def parse_witness_signer_key(text: str) -> WitnessSigner:
    """Parse a witness signer key text (PRIVATE+KEY+..., algorithm 0x04). Raises NoteError."""
    name, kid, algorithm, seed = decode_signer_key(text.strip())
    if algorithm != ALG_COSIGNATURE_V1:
        raise NoteError(f"witness key {name!r} has algorithm {algorithm:#04x}, expected 0x04")
    return WitnessSigner(name, ed25519_private_key_from_seed(name, kid, algorithm, seed))


def generate_witness(name: str) -> tuple[str, str]:
    """A fresh witness key pair for name, as (signer key text, verifier key text)."""
    signer = WitnessSigner(name, Ed25519PrivateKey.generate())
    return signer.to_key_text(), signer.verifier().to_key_text()


def cosign(checkpoint_text: str, witness_signer: WitnessSigner, timestamp: int) -> str:
    """The cosignature line of witness_signer over a checkpoint body, made at `timestamp`.

    checkpoint_text is the note text (no signatures) and must be a valid checkpoint. The caller
    is the witness: before cosigning it must have verified the log's signature and a
    consistency proof from the last checkpoint it cosigned.
    """
    Checkpoint.parse(checkpoint_text)
    signature = witness_signer.timestamped_signature(checkpoint_text, timestamp)
    return format_signature_line(witness_signer.name, witness_signer.key_id, signature)


def add_cosignature(
    signed_note: str, witness_signer: WitnessSigner, timestamp: int, log_verifier: NoteVerifier
) -> str:
    """The signed checkpoint note with witness_signer's cosignature line appended.

    The log's signature is verified with log_verifier first (raising NoteError if it fails), so
    a witness never cosigns something the log did not sign. Checking consistency with earlier
    checkpoints remains the caller's job.
    """
    text, _ = open_note(signed_note, [log_verifier])
    return add_signature_lines(signed_note, [cosign(text, witness_signer, timestamp)])


class Cosignature(NamedTuple):
    """A verified witness cosignature."""

    name: str
    key_id: bytes
    timestamp: int
    signature: bytes


def cosignatures_from(
    signatures: Iterable[NoteSignature], witnesses: Iterable[WitnessVerifier]
) -> list[Cosignature]:
    """Pick the witnesses' cosignatures out of signatures ALREADY verified by note.open_note().

    Use it after open_note(note, [log_verifier, *witnesses]) to learn who cosigned and when.
    """
    known = {(w.name, w.key_id) for w in witnesses}
    return [
        Cosignature(
            s.name,
            s.key_id,
            int.from_bytes(s.signature[:_TIMESTAMP_SIZE], "big"),
            s.signature[_TIMESTAMP_SIZE:],
        )
        for s in signatures
        if (s.name, s.key_id) in known
    ]


def verify_cosignature(
    signed_note: str, witness_verifier: WitnessVerifier, *, not_after: int | None = None
) -> Cosignature:
    """Check the witness's cosignature on a checkpoint note and return it.

    Raises NoteError if the note is malformed, holds no line with the witness's name and key ID,
    or that line does not verify; CheckpointError if the note text is not a checkpoint. With
    not_after (a POSIX time), a cosignature dated later is rejected too. Other signatures,
    including the log's own, are not checked here: use note.open_note() for those.
    """
    parsed = parse_note(signed_note)
    if not any(
        (s.name, s.key_id) == (witness_verifier.name, witness_verifier.key_id)
        for s in parsed.signatures
    ):
        raise NoteError(f"checkpoint is not cosigned by witness {witness_verifier.name}")
    text, verified = open_note(signed_note, [witness_verifier])
    try:
        Checkpoint.parse(text)
    except CheckpointError as exc:
        raise CheckpointError(f"the cosigned note is not a checkpoint: {exc}") from exc
    (cosignature,) = cosignatures_from(verified, [witness_verifier])
    if not_after is not None and cosignature.timestamp > not_after:
        raise NoteError(
            f"cosignature by {witness_verifier.name} is dated {cosignature.timestamp}, "
            f"after {not_after}"
        )
    return cosignature
