"""Receipts in the c2sp.org/tlog-proof@v1 format: layout, round trip, verification, tampering."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from audit.tlog.cosignature import parse_witness_verifier_key
from audit.tlog.hashing import leaf_hash
from audit.tlog.note import generate_signer, parse_verifier_key
from audit.tlog.receipt import RECEIPT_HEADER, Receipt, ReceiptError, verify_receipt

ORIGIN = "demo.yaritori.invalid/audit-log"  # the demo_log fixture's origin (conftest.py)


def test_layout(demo_log: Any) -> None:
    text = demo_log.receipt_text(5, 13)
    lines = text.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1" == RECEIPT_HEADER
    assert lines[1] == "extra " + base64.b64encode(demo_log.leaves[5]).decode()
    assert lines[2] == "index 5"
    proof_lines = lines[3 : lines.index("")]
    assert len(proof_lines) == 4  # 13 leaves: depth 4 at index 5
    assert all(len(base64.b64decode(x)) == 32 for x in proof_lines)
    assert text.endswith(demo_log.checkpoint_note(13))
    assert "\n\n" + demo_log.checkpoint_note(13) in text


def test_round_trip(demo_log: Any) -> None:
    for with_leaf in (True, False):
        text = demo_log.receipt_text(12, 13, with_leaf=with_leaf)
        receipt = Receipt.parse(text)
        assert receipt.to_text() == text
        assert (receipt.extra is not None) == with_leaf
    single = demo_log.receipt_text(0, 1)
    assert Receipt.parse(single).proof == ()


@pytest.mark.parametrize(("index", "size"), [(0, 1), (0, 13), (5, 13), (12, 13), (7, 8)])
def test_verify(demo_log: Any, index: int, size: int) -> None:
    result = verify_receipt(demo_log.receipt_text(index, size), None, demo_log.verifier)
    assert result.index == index
    assert result.leaf == demo_log.leaves[index]
    assert result.leaf_hash == leaf_hash(demo_log.leaves[index])
    assert result.checkpoint.size == size
    assert result.checkpoint.origin == ORIGIN
    assert result.log_signature.name == ORIGIN
    assert result.cosignatures == ()


def test_verify_with_leaf_given_separately(demo_log: Any) -> None:
    bare = demo_log.receipt_text(3, 13, with_leaf=False)
    verify_receipt(bare, demo_log.leaves[3], demo_log.verifier)
    with pytest.raises(ReceiptError, match="no leaf"):
        verify_receipt(bare, None, demo_log.verifier)
    with pytest.raises(ReceiptError, match="inclusion"):
        verify_receipt(bare, demo_log.leaves[4], demo_log.verifier)
    full = demo_log.receipt_text(3, 13)
    verify_receipt(full, demo_log.leaves[3], demo_log.verifier)
    with pytest.raises(ReceiptError, match="differs"):
        verify_receipt(full, demo_log.leaves[4], demo_log.verifier)


def test_origin_and_witnesses(demo_log: Any) -> None:
    witness = parse_witness_verifier_key(demo_log.witness_verifier_key)
    cosigned = demo_log.receipt_text(2, 13, cosign_at=1_700_000_000)
    result = verify_receipt(cosigned, None, demo_log.verifier, origin=ORIGIN, witnesses=[witness])
    assert [(c.name, c.timestamp) for c in result.cosignatures] == [
        ("witness.example/w1", 1_700_000_000)
    ]
    with pytest.raises(ReceiptError, match="expected"):
        verify_receipt(cosigned, None, demo_log.verifier, origin="other.example/log")
    plain = demo_log.receipt_text(2, 13)
    with pytest.raises(ReceiptError, match="witness cosignatures"):
        verify_receipt(plain, None, demo_log.verifier, witnesses=[witness])
    verify_receipt(plain, None, demo_log.verifier, witnesses=[witness], quorum=0)


def test_wrong_log_key(demo_log: Any) -> None:
    _, other_vkey = generate_signer(ORIGIN)
    with pytest.raises(ReceiptError, match="checkpoint signature"):
        verify_receipt(demo_log.receipt_text(1, 13), None, parse_verifier_key(other_vkey))


def _replace_line(text: str, number: int, new: str) -> str:
    lines = text.split("\n")
    lines[number] = new
    return "\n".join(lines)


def _flip_b64(value: str, bit: int) -> str:
    data = bytearray(base64.b64decode(value))
    data[bit // 8 % len(data)] ^= 1 << (bit % 8)
    return base64.b64encode(bytes(data)).decode()


def _tampered(text: str, what: str, bit: int) -> str:
    lines = text.split("\n")
    blank = lines.index("")
    if what == "leaf":
        return _replace_line(text, 1, "extra " + _flip_b64(lines[1][len("extra ") :], bit))
    if what == "index":
        return _replace_line(text, 2, "index 7")
    if what == "first proof hash":
        return _replace_line(text, 3, _flip_b64(lines[3], bit))
    if what == "last proof hash":
        return _replace_line(text, blank - 1, _flip_b64(lines[blank - 1], bit))
    if what == "dropped proof hash":
        return "\n".join(lines[:3] + lines[4:])
    if what == "size":
        return _replace_line(text, blank + 2, "12")
    assert what == "root"
    return _replace_line(text, blank + 3, _flip_b64(lines[blank + 3], bit))


@pytest.mark.parametrize("bit", [0, 9, 255])
@pytest.mark.parametrize(
    "what",
    [
        "leaf",
        "index",
        "first proof hash",
        "last proof hash",
        "dropped proof hash",
        "size",
        "root",
    ],
)
def test_every_tampering_is_caught(demo_log: Any, what: str, bit: int) -> None:
    bad = _tampered(demo_log.receipt_text(6, 13), what, bit)
    with pytest.raises(ReceiptError):
        verify_receipt(bad, None, demo_log.verifier)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace(RECEIPT_HEADER, "c2sp.org/tlog-proof@v2"),
        lambda t: t.replace("index 4", "index 04"),
        lambda t: t.replace("index 4", "index four"),
        lambda t: t.replace("index 4\n", ""),
        lambda t: t.replace("extra ", "extra !"),
        lambda t: t.split("\n\n")[0],
        lambda t: t.split("\n\n")[0] + "\n\n",
        lambda t: t.replace("\n\n", "\n", 1),
    ],
)
def test_malformed_receipts(demo_log: Any, mutate: object) -> None:
    assert callable(mutate)
    text = mutate(demo_log.receipt_text(4, 13))
    with pytest.raises(ReceiptError):
        Receipt.parse(text)
    with pytest.raises(ReceiptError, match="malformed"):
        verify_receipt(text, None, demo_log.verifier)


def test_constructor_validates(demo_log: Any) -> None:
    note = demo_log.checkpoint_note(2)
    with pytest.raises(ReceiptError):
        Receipt(-1, (), note)
    with pytest.raises(ReceiptError):
        Receipt(0, (b"short",), note)
    with pytest.raises(ReceiptError):
        Receipt(0, (), "not a note\n")
