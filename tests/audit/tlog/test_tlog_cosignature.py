"""Witness cosignatures (c2sp.org/tlog-cosignature, cosignature/v1): sign, verify, tamper."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.tlog.checkpoint import Checkpoint, CheckpointError
from audit.tlog.cosignature import (
    ALG_COSIGNATURE_V1,
    WitnessSigner,
    add_cosignature,
    cosign,
    cosignatures_from,
    cosigned_message,
    generate_witness,
    parse_witness_signer_key,
    parse_witness_verifier_key,
    verify_cosignature,
)
from audit.tlog.errors import NoteError
from audit.tlog.note import Signer, add_signature_lines, open_note, parse_note, sign_note

BODY = Checkpoint("example.com/behind-the-sofa", 20852163, bytes(32)).to_text()
TIME = 1679315147


@pytest.fixture
def log() -> Signer:
    return Signer("example.com/behind-the-sofa", Ed25519PrivateKey.generate())


@pytest.fixture
def witness() -> WitnessSigner:
    return WitnessSigner("witness.example.com/w1", Ed25519PrivateKey.generate())


def test_signed_message_layout() -> None:
    assert cosigned_message(BODY, TIME) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        + base64.b64encode(bytes(32))
        + b"\n"
    )
    with pytest.raises(ValueError):
        cosigned_message(BODY, 2**63)
    with pytest.raises(ValueError):
        cosigned_message(BODY, -1)


def test_key_id_uses_algorithm_4(witness: WitnessSigner) -> None:
    public = witness.verifier().public_key_bytes
    expected = hashlib.sha256(witness.name.encode() + b"\n\x04" + public).digest()[:4]
    assert witness.key_id == expected
    assert ALG_COSIGNATURE_V1 == 4
    vkey = witness.verifier().to_key_text()
    assert vkey.startswith(f"{witness.name}+{expected.hex()}+")
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 4


def test_line_layout(witness: WitnessSigner) -> None:
    line = cosign(BODY, witness, TIME)
    name_part, b64 = line.removeprefix("— ").rstrip("\n").split(" ")
    assert name_part == witness.name
    blob = base64.b64decode(b64)
    assert len(blob) == 4 + 8 + 64
    assert blob[:4] == witness.key_id
    assert int.from_bytes(blob[4:12], "big") == TIME
    witness.verifier().public_key.verify(blob[12:], cosigned_message(BODY, TIME))


def test_cosign_and_verify(log: Signer, witness: WitnessSigner) -> None:
    note = sign_note(BODY, [log])
    cosigned = add_cosignature(note, witness, TIME, log.verifier())
    assert cosigned.startswith(note)
    result = verify_cosignature(cosigned, witness.verifier())
    assert (result.name, result.timestamp) == (witness.name, TIME)
    # One open_note call checks the log and the witness together.
    opened = open_note(cosigned, [log.verifier(), witness.verifier()])
    assert len(opened.signatures) == 2
    assert [c.timestamp for c in cosignatures_from(opened.signatures, [witness.verifier()])] == [
        TIME
    ]
    # A log-only verifier simply ignores the cosignature.
    assert len(open_note(cosigned, [log.verifier()]).signatures) == 1


def test_future_timestamp_can_be_refused(log: Signer, witness: WitnessSigner) -> None:
    cosigned = add_cosignature(sign_note(BODY, [log]), witness, TIME, log.verifier())
    verify_cosignature(cosigned, witness.verifier(), not_after=TIME)
    with pytest.raises(NoteError, match="dated"):
        verify_cosignature(cosigned, witness.verifier(), not_after=TIME - 1)


def test_tampered_timestamp_fails(log: Signer, witness: WitnessSigner) -> None:
    line = cosign(BODY, witness, TIME)
    prefix, b64 = line.rstrip("\n").rsplit(" ", 1)
    blob = bytearray(base64.b64decode(b64))
    blob[11] ^= 1  # the last byte of the timestamp
    tampered = f"{prefix} {base64.b64encode(bytes(blob)).decode()}\n"
    note = add_signature_lines(sign_note(BODY, [log]), [tampered])
    with pytest.raises(NoteError, match="does not verify"):
        verify_cosignature(note, witness.verifier())


def test_tampered_checkpoint_fails(log: Signer, witness: WitnessSigner) -> None:
    line = cosign(BODY, witness, TIME)
    other = Checkpoint("example.com/behind-the-sofa", 20852164, bytes(32)).to_text()
    note = add_signature_lines(sign_note(other, [log]), [line])
    with pytest.raises(NoteError, match="does not verify"):
        verify_cosignature(note, witness.verifier())


def test_plain_note_signature_is_not_a_cosignature(log: Signer, witness: WitnessSigner) -> None:
    # A 0x01 signature by the same key pair under the witness name has another key ID, and a
    # forged line with the right key ID but a plain signature does not verify.
    plain = Signer(witness.name, witness.private_key)
    note = sign_note(BODY, [log, plain])
    with pytest.raises(NoteError, match="not cosigned"):
        verify_cosignature(note, witness.verifier())
    (_, plain_sig) = parse_note(note).signatures
    forged = add_signature_lines(
        sign_note(BODY, [log]),
        [f"— {witness.name} {base64.b64encode(witness.key_id + plain_sig.signature).decode()}\n"],
    )
    with pytest.raises(NoteError):
        verify_cosignature(forged, witness.verifier())


def test_missing_cosignature(log: Signer, witness: WitnessSigner) -> None:
    with pytest.raises(NoteError, match="not cosigned"):
        verify_cosignature(sign_note(BODY, [log]), witness.verifier())


def test_witness_refuses_to_cosign_what_the_log_did_not_sign(
    log: Signer, witness: WitnessSigner
) -> None:
    other_log = Signer(log.name, Ed25519PrivateKey.generate())
    with pytest.raises(NoteError):
        add_cosignature(sign_note(BODY, [other_log]), witness, TIME, log.verifier())


def test_only_checkpoints_are_cosigned(witness: WitnessSigner) -> None:
    with pytest.raises(CheckpointError):
        cosign("just some text\n", witness, TIME)


def test_witness_key_texts_round_trip() -> None:
    signer_text, verifier_text = generate_witness("witness.example/w2")
    signer = parse_witness_signer_key(signer_text)
    assert signer.to_key_text() == signer_text
    assert parse_witness_verifier_key(verifier_text) == signer.verifier()
    from audit.tlog.note import generate_signer

    plain_signer, plain_verifier = generate_signer("log.example")
    with pytest.raises(NoteError, match="algorithm"):
        parse_witness_verifier_key(plain_verifier)
    with pytest.raises(NoteError, match="algorithm"):
        parse_witness_signer_key(plain_signer)
