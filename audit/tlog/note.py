"""C2SP signed notes (c2sp.org/signed-note) with Ed25519, and their key texts.

A signed note is a UTF-8 text that ends in a newline, then one blank line, then one or more
signature lines::

    This is an example message.

    — example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Z...IneyaQM=

Each signature line is an em dash (U+2014), a space, the key name, a space, and
base64(key ID || signature) (shortened above), where the key ID is 4 bytes and the signature
covers the text including its final newline (not the blank line). The text may itself contain
blank lines: it ends at the LAST blank line of the note. No ASCII control character other than
newline may appear anywhere.

Key ID and key texts (the same forms as golang.org/x/mod/sumdb/note)::

    key ID        = SHA-256(name || 0x0A || algorithm byte || public key)[:4]
    verifier key  = name + "+" + hex(key ID) + "+" + base64(algorithm byte || public key)
    signer key    = "PRIVATE+KEY+" + name + "+" + hex(key ID) + "+" + base64(algorithm byte || seed)

The algorithm byte is 0x01 for Ed25519 note signatures; witness cosignatures use 0x04 with the
same key text forms (see cosignature.py). A key name is non-empty and holds no white space
and no "+".

Reading a note (open_note) follows the specification and Go's note.Open: signatures by keys
the reader does not know are ignored; a signature by a known key (same name AND key ID) must
verify, otherwise the whole note is rejected; and at least one known key must have signed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ._text import b64decode_strict, b64encode, has_control_character
from .errors import NoteError

__all__ = [
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "NoteError",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "OpenedNote",
    "ParsedNote",
    "Signer",
    "Verifier",
    "add_signature_lines",
    "check_key_name",
    "decode_signer_key",
    "decode_verifier_key",
    "ed25519_private_key_from_seed",
    "encode_signer_key",
    "encode_verifier_key",
    "format_signature_line",
    "generate_signer",
    "key_id",
    "open_note",
    "parse_note",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_note",
]

ALG_ED25519: Final = 0x01
"""Signature type byte of Ed25519 note signatures."""

MAX_SIGNATURES: Final = 100
"""More signature lines than this make a note malformed (the spec asks to accept at least 16)."""

SIGNATURE_PREFIX: Final = "\u2014 "  # em dash, space
_PRIVATE_KEY_PREFIX: Final = "PRIVATE+KEY+"


# --------------------------------------------------------------------------------------------
# Key names, key IDs and key texts
# --------------------------------------------------------------------------------------------


def check_key_name(name: str) -> None:
    """Raise NoteError unless name is a valid key name: non-empty, no white space, no "+"."""
    if not name:
        raise NoteError("key name is empty")
    if any(ch.isspace() for ch in name):
        raise NoteError(f"key name {name!r} contains white space")
    if "+" in name:
        raise NoteError(f"key name {name!r} contains '+'")
    if has_control_character(name):
        raise NoteError(f"key name {name!r} contains a control character")


def key_id(name: str, algorithm: int, public_key: bytes) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || algorithm byte || public key)[:4]."""
    if not 0 <= algorithm <= 0xFF:
        raise ValueError(f"algorithm must be one byte, got {algorithm}")
    material = name.encode("utf-8") + b"\n" + bytes([algorithm]) + public_key
    return hashlib.sha256(material).digest()[:4]


def encode_verifier_key(name: str, algorithm: int, public_key: bytes) -> str:
    """The verifier key text name+hex(key ID)+base64(algorithm || public key)."""
    check_key_name(name)
    kid = key_id(name, algorithm, public_key)
    return f"{name}+{kid.hex()}+{b64encode(bytes([algorithm]) + public_key)}"


def decode_verifier_key(text: str) -> tuple[str, bytes, int, bytes]:
    """Split a verifier key text into (name, key ID, algorithm byte, public key bytes).

    Checks the form and that the stated key ID matches the name and key; the caller checks that
    the algorithm and key length are ones it supports. Raises NoteError.
    """
    # Only the first two "+" separate fields: base64 itself may contain "+".
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise NoteError("verifier key must have the form name+keyid+base64key")
    name, kid_hex, key_b64 = parts
    check_key_name(name)
    kid = _decode_key_id(kid_hex)
    blob = b64decode_strict(key_b64)
    if blob is None or len(blob) < 2:
        raise NoteError("verifier key material is not valid base64")
    algorithm, public_key = blob[0], blob[1:]
    if key_id(name, algorithm, public_key) != kid:
        raise NoteError(f"verifier key ID {kid_hex} does not match its name and key")
    return name, kid, algorithm, public_key


def encode_signer_key(name: str, algorithm: int, public_key: bytes, secret: bytes) -> str:
    """The signer key text PRIVATE+KEY+name+hex(key ID)+base64(algorithm || secret).

    The key ID is that of the matching public key, as in Go's note package.
    """
    check_key_name(name)
    kid = key_id(name, algorithm, public_key)
    return f"{_PRIVATE_KEY_PREFIX}{name}+{kid.hex()}+{b64encode(bytes([algorithm]) + secret)}"


def decode_signer_key(text: str) -> tuple[str, bytes, int, bytes]:
    """Split a signer key text into (name, stated key ID, algorithm byte, secret bytes).

    Only the form is checked here; the caller derives the public key and must compare the key
    ID (Signer and the witness signer do). Raises NoteError.
    """
    if not text.startswith(_PRIVATE_KEY_PREFIX):
        raise NoteError("signer key must start with PRIVATE+KEY+")
    parts = text[len(_PRIVATE_KEY_PREFIX) :].split("+", 2)
    if len(parts) != 3:
        raise NoteError("signer key must have the form PRIVATE+KEY+name+keyid+base64key")
    name, kid_hex, key_b64 = parts
    check_key_name(name)
    kid = _decode_key_id(kid_hex)
    blob = b64decode_strict(key_b64)
    if blob is None or len(blob) < 2:
        raise NoteError("signer key material is not valid base64")
    return name, kid, blob[0], blob[1:]


def _decode_key_id(kid_hex: str) -> bytes:
    if len(kid_hex) != 8 or any(ch not in "0123456789abcdef" for ch in kid_hex):
        raise NoteError(f"key ID {kid_hex!r} is not 8 lower-case hex digits")
    return bytes.fromhex(kid_hex)


def _raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def ed25519_private_key_from_seed(
    name: str, kid: bytes, algorithm: int, seed: bytes
) -> Ed25519PrivateKey:
    """Rebuild an Ed25519 private key from a decoded signer key and check its stated key ID."""
    if len(seed) != 32:
        raise NoteError(f"signer key {name!r}: an Ed25519 seed is 32 bytes, got {len(seed)}")
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    if key_id(name, algorithm, _raw_public_key(private_key.public_key())) != kid:
        raise NoteError(f"signer key {name!r}: key ID does not match the key")
    return private_key


# --------------------------------------------------------------------------------------------
# Signers and verifiers
# --------------------------------------------------------------------------------------------


class NoteSigner(Protocol):
    """Anything that can add a signature line to a note."""

    @property
    def name(self) -> str:
        """Key name written on the signature line."""
        ...

    @property
    def key_id(self) -> bytes:
        """4-byte key ID written at the start of the signature."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Signature over message: the note text, UTF-8 encoded, final newline included."""
        ...


class NoteVerifier(Protocol):
    """Anything that can check one signature line of a note."""

    @property
    def name(self) -> str:
        """Key name that a signature line must carry to be checked by this verifier."""
        ...

    @property
    def key_id(self) -> bytes:
        """4-byte key ID that a signature must start with to be checked by this verifier."""
        ...

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True if signature (key ID removed) is valid over message (the note text)."""
        ...


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 note verifier: a key name and a public key (algorithm 0x01)."""

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
        """SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
        return key_id(self.name, ALG_ED25519, self.public_key_bytes)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True if signature is a valid Ed25519 signature over message by this key."""
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def to_key_text(self) -> str:
        """The verifier key text name+keyid+base64(0x01 || public key)."""
        return encode_verifier_key(self.name, ALG_ED25519, self.public_key_bytes)


@dataclass(frozen=True)
class Signer:
    """An Ed25519 note signer: a key name and a private key (algorithm 0x01)."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def key_id(self) -> bytes:
        """The key ID of the matching public key."""
        return self.verifier().key_id

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature over message."""
        return self.private_key.sign(message)

    def verifier(self) -> Verifier:
        """The Verifier for this signer's public key."""
        return Verifier(self.name, self.private_key.public_key())

    def to_key_text(self) -> str:
        """The signer key text PRIVATE+KEY+name+keyid+base64(0x01 || seed). Keep it secret."""
        seed = self.private_key.private_bytes_raw()
        return encode_signer_key(self.name, ALG_ED25519, self.verifier().public_key_bytes, seed)


def parse_verifier_key(text: str) -> Verifier:
    """Parse an Ed25519 verifier key text (name+keyid+base64(0x01 || key)). Raises NoteError."""
    name, _kid, algorithm, public_key = decode_verifier_key(text.strip())
    if algorithm != ALG_ED25519:
        raise NoteError(f"verifier key {name!r} has algorithm {algorithm:#04x}, expected 0x01")
    if len(public_key) != 32:
        raise NoteError(f"verifier key {name!r}: an Ed25519 public key is 32 bytes")
    return Verifier(name, Ed25519PublicKey.from_public_bytes(public_key))


def parse_signer_key(text: str) -> Signer:
    """Parse an Ed25519 signer key text (PRIVATE+KEY+...). Raises NoteError."""
    name, kid, algorithm, seed = decode_signer_key(text.strip())
    if algorithm != ALG_ED25519:
        raise NoteError(f"signer key {name!r} has algorithm {algorithm:#04x}, expected 0x01")
    return Signer(name, ed25519_private_key_from_seed(name, kid, algorithm, seed))


def generate_signer(name: str) -> tuple[str, str]:
    """A fresh Ed25519 key pair for name, as (signer key text, verifier key text)."""
    signer = Signer(name, Ed25519PrivateKey.generate())
    return signer.to_key_text(), signer.verifier().to_key_text()


# --------------------------------------------------------------------------------------------
# Notes
# --------------------------------------------------------------------------------------------


class NoteSignature(NamedTuple):
    """One signature line of a note, decoded (signature excludes the 4-byte key ID)."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The signature line as it appears in a note, with its final newline."""
        return format_signature_line(self.name, self.key_id, self.signature)


class ParsedNote(NamedTuple):
    """A note split into its text and its signature lines, with nothing verified yet."""

    text: str
    signatures: list[NoteSignature]


class OpenedNote(NamedTuple):
    """A note whose signatures by known keys all verified; `signatures` lists those."""

    text: str
    signatures: list[NoteSignature]


def format_signature_line(name: str, kid: bytes, signature: bytes) -> str:
    """The signature line "— name base64(key ID || signature)" with its final newline."""
    check_key_name(name)
    if len(kid) != 4:
        raise ValueError(f"key ID must be 4 bytes, got {len(kid)}")
    return f"{SIGNATURE_PREFIX}{name} {b64encode(kid + signature)}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if has_control_character(text):
        raise NoteError("note text contains a control character other than newline")


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """Sign text with each signer, in order, and return the signed note.

    text must end with a newline and hold no control character other than newline. Raises
    NoteError otherwise, or when no signer is given.
    """
    _check_text(text)
    if not signers:
        raise NoteError("a note needs at least one signer")
    message = text.encode("utf-8")
    lines = [format_signature_line(s.name, s.key_id, s.sign(message)) for s in signers]
    return text + "\n" + "".join(lines)


def parse_note(note: str) -> ParsedNote:
    """Split a signed note into its text and decoded signature lines without verifying them.

    Raises NoteError if the note is malformed: a control character, no blank line before the
    signatures, no signature, a line that is not "— name base64", an invalid key name, a
    signature shorter than a key ID plus one byte, or more than MAX_SIGNATURES lines.
    """
    if has_control_character(note):
        raise NoteError("note contains a control character other than newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("note has no signature lines, or its last line lacks a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"signature line does not start with an em dash: {line[:40]!r}")
        name, sep, sig_b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not sep:
            raise NoteError(f"signature line has no signature: {line[:40]!r}")
        check_key_name(name)
        blob = b64decode_strict(sig_b64)
        if blob is None or len(blob) < 5:
            raise NoteError(f"signature by {name} is not valid base64 of key ID and signature")
        signatures.append(NoteSignature(name, blob[:4], blob[4:]))
    return ParsedNote(text, signatures)


def open_note(note: str, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Verify a signed note against the known keys and return its text and verified signatures.

    Signatures whose (name, key ID) match no verifier are ignored. A signature that matches a
    verifier must verify, or NoteError is raised for the whole note; repeated identical
    signatures by one key count once. NoteError is also raised if the note is malformed or if no
    signature by a known key is present. Only then may the text be trusted.
    """
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for v in verifiers:
        if (v.name, v.key_id) in known:
            raise ValueError(f"two verifiers for key {v.name}+{v.key_id.hex()}")
        known[(v.name, v.key_id)] = v
    text, signatures = parse_note(note)
    message = text.encode("utf-8")
    verified: list[NoteSignature] = []
    seen: set[tuple[str, bytes]] = set()
    for sig in signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None or (sig.name, sig.key_id) in seen:
            continue
        if not verifier.verify(message, sig.signature):
            raise NoteError(f"signature by {sig.name}+{sig.key_id.hex()} does not verify")
        seen.add((sig.name, sig.key_id))
        verified.append(sig)
    if not verified:
        present = ", ".join(sorted({f"{s.name}+{s.key_id.hex()}" for s in signatures}))
        raise NoteError(f"note is not signed by any known key (signed by: {present})")
    return OpenedNote(text, verified)


def add_signature_lines(note: str, lines: Iterable[str]) -> str:
    """Append signature lines to a signed note, skipping lines it already holds.

    Each line must be a well-formed signature line ending in a newline (as made by
    format_signature_line). Nothing is verified: appending a signature never changes what the
    other signatures cover. Raises NoteError if the note or a line is malformed.
    """
    _text, existing = parse_note(note)
    present = set(existing)
    result = note
    for line in lines:
        if not line.endswith("\n") or "\n" in line[:-1]:
            raise NoteError("a signature line must be one line ending with a newline")
        (parsed,) = parse_note("x\n\n" + line).signatures
        if parsed not in present:
            present.add(parsed)
            result += line
    parse_note(result)  # still within MAX_SIGNATURES
    return result
