"""C2SP signed notes: the specification's example, key texts, signing, opening, malformed notes."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.tlog.note import (
    ALG_ED25519,
    MAX_SIGNATURES,
    NoteError,
    Signer,
    Verifier,
    add_signature_lines,
    format_signature_line,
    generate_signer,
    key_id,
    open_note,
    parse_note,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
)

# From the C2SP signed-note specification (../shared/vectors/README.md).
EXAMPLE_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
EXAMPLE_TEXT = "This is an example message.\n"
EXAMPLE_SIG_LINE = (
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKu"
    "wHjG1Yu72IneyaQM=\n"
)
EXAMPLE_NOTE = EXAMPLE_TEXT + "\n" + EXAMPLE_SIG_LINE


def _fresh(name: str = "log.example/a") -> Signer:
    return Signer(name, Ed25519PrivateKey.generate())


def test_example_key_id() -> None:
    verifier = parse_verifier_key(EXAMPLE_VKEY)
    assert verifier.name == "example.com/foo"
    assert verifier.key_id.hex() == "530d903a"
    assert key_id("example.com/foo", ALG_ED25519, verifier.public_key_bytes).hex() == "530d903a"
    assert verifier.to_key_text() == EXAMPLE_VKEY


def test_example_note_verifies() -> None:
    text, signatures = open_note(EXAMPLE_NOTE, [parse_verifier_key(EXAMPLE_VKEY)])
    assert text == EXAMPLE_TEXT
    assert [(s.name, s.key_id.hex()) for s in signatures] == [("example.com/foo", "530d903a")]
    assert signatures[0].line() == EXAMPLE_SIG_LINE


@pytest.mark.parametrize("bit", [0, 7, 100, 8 * 63 + 5])
def test_example_note_with_one_flipped_signature_bit_fails(bit: int) -> None:
    prefix, b64 = EXAMPLE_SIG_LINE.rstrip("\n").rsplit(" ", 1)
    blob = bytearray(base64.b64decode(b64))
    blob[4 + bit // 8] ^= 1 << (bit % 8)  # after the 4-byte key ID: inside the signature
    note = EXAMPLE_TEXT + "\n" + f"{prefix} {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(NoteError, match="does not verify"):
        open_note(note, [parse_verifier_key(EXAMPLE_VKEY)])


def test_example_note_with_changed_text_fails() -> None:
    note = "This is an example massage.\n\n" + EXAMPLE_SIG_LINE
    with pytest.raises(NoteError, match="does not verify"):
        open_note(note, [parse_verifier_key(EXAMPLE_VKEY)])


def test_generated_keys_round_trip() -> None:
    signer_text, verifier_text = generate_signer("yaritori.example/log")
    assert signer_text.startswith("PRIVATE+KEY+yaritori.example/log+")
    signer = parse_signer_key(signer_text)
    verifier = parse_verifier_key(verifier_text)
    assert signer.to_key_text() == signer_text
    assert signer.verifier().to_key_text() == verifier_text
    assert signer.key_id == verifier.key_id
    note = sign_note("hello\n", [signer])
    assert open_note(note, [verifier]).text == "hello\n"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no newline at the end",
        "tab\there\n",
        "carriage\r\nreturn\n",
    ],
)
def test_sign_rejects_bad_text(text: str) -> None:
    with pytest.raises(NoteError):
        sign_note(text, [_fresh()])


def test_sign_needs_a_signer() -> None:
    with pytest.raises(NoteError):
        sign_note("x\n", [])


@pytest.mark.parametrize("name", ["", "has space", "a+b", "tab\tname", "nbsp\u00a0name"])
def test_invalid_key_names(name: str) -> None:
    with pytest.raises(NoteError):
        Signer(name, Ed25519PrivateKey.generate())


def test_text_with_blank_lines_and_dash_lines_is_kept_whole() -> None:
    signer = _fresh()
    text = "first\n\n— not a signature\n\nlast\n"
    note = sign_note(text, [signer])
    opened = open_note(note, [signer.verifier()])
    assert opened.text == text


def test_several_signers_and_unknown_keys() -> None:
    a, b, c = _fresh("a.example"), _fresh("b.example"), _fresh("c.example")
    note = sign_note("body\n", [a, b, c])
    # Only b is known: the other signatures are ignored.
    assert [s.name for s in open_note(note, [b.verifier()]).signatures] == ["b.example"]
    # Same name as a known key but another key ID: ignored, not an error.
    impostor = _fresh("a.example")
    with pytest.raises(NoteError, match="not signed by any known key"):
        open_note(sign_note("body\n", [impostor]), [a.verifier()])
    assert len(open_note(note, [a.verifier(), c.verifier()]).signatures) == 2


def test_a_bad_signature_by_a_known_key_rejects_the_whole_note() -> None:
    a, b = _fresh("a.example"), _fresh("b.example")
    good = sign_note("body\n", [a])
    forged = format_signature_line("b.example", b.key_id, bytes(64))
    note = add_signature_lines(good, [forged])
    assert open_note(note, [a.verifier()]).text == "body\n"  # b unknown: ignored
    with pytest.raises(NoteError, match=r"b\.example"):
        open_note(note, [a.verifier(), b.verifier()])


def test_duplicate_lines_count_once() -> None:
    a = _fresh()
    note = sign_note("body\n", [a])
    (line,) = parse_note(note).signatures
    assert add_signature_lines(note, [line.line()]) == note
    doubled = note + line.line()
    assert len(open_note(doubled, [a.verifier()]).signatures) == 1


def test_two_verifiers_for_one_key_is_a_configuration_error() -> None:
    a = _fresh()
    with pytest.raises(ValueError):
        open_note(sign_note("x\n", [a]), [a.verifier(), a.verifier()])


@pytest.mark.parametrize(
    "note",
    [
        "no signatures\n",
        "text\n\n",
        "text\n\n— a.example AAAA\n",  # shorter than key ID + 1 byte
        "text\n\n- a.example AAAAAAAA\n",  # hyphen, not em dash
        "text\n\n— a.example AAAAAAAA",  # no final newline
        "text\n\n— a.example\n",  # no signature
        "text\n\n— a+b AAAAAAAA\n",  # bad name
        "text\n\n— a.example AAAAAAAA=\n",  # bad base64
        "text\n\n—  a.example AAAAAAAA\n",  # empty name
        "te\x00xt\n\n— a.example AAAAAAAA\n",  # control character
        "text\n\n— a.example AAAAAAAA\n\n",  # blank line after the signatures
    ],
)
def test_malformed_notes(note: str) -> None:
    with pytest.raises(NoteError):
        parse_note(note)
    with pytest.raises(NoteError):
        open_note(note, [parse_verifier_key(EXAMPLE_VKEY)])


def test_signature_limit() -> None:
    a = _fresh()
    note = sign_note("x\n", [a])
    lines = [format_signature_line(f"k{i}.example", b"\0\0\0\0", b"\1") for i in range(100)]
    with pytest.raises(NoteError, match=str(MAX_SIGNATURES)):
        parse_note(note + "".join(lines))


@pytest.mark.parametrize(
    "text",
    [
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong key ID
        "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong name
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # upper-case hex
        "example.com/foo+530d903a",
        "example.com/foo+530d903a+!!!!",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",  # bad padding
        "",
    ],
)
def test_malformed_verifier_keys(text: str) -> None:
    with pytest.raises(NoteError):
        parse_verifier_key(text)


def test_verifier_key_with_another_algorithm_is_refused() -> None:
    from audit.tlog.cosignature import generate_witness

    _signer, witness_vkey = generate_witness("w.example")
    with pytest.raises(NoteError, match="algorithm"):
        parse_verifier_key(witness_vkey)


def test_malformed_signer_keys() -> None:
    signer_text, _ = generate_signer("a.example")
    with pytest.raises(NoteError):
        parse_signer_key(signer_text.removeprefix("PRIVATE+KEY+"))
    name_part, kid, key = signer_text.removeprefix("PRIVATE+KEY+").split("+", 2)
    wrong_kid = "00000000" if kid != "00000000" else "11111111"
    with pytest.raises(NoteError, match="key ID"):
        parse_signer_key(f"PRIVATE+KEY+{name_part}+{wrong_kid}+{key}")


def test_verifier_equality_and_repr_hide_nothing_secret() -> None:
    signer = _fresh()
    assert "PRIVATE" not in repr(signer)
    assert signer.verifier() == Verifier(signer.name, signer.private_key.public_key())
