"""C2SP tlog-checkpoint bodies: round trip and strict parsing."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.tlog.checkpoint import Checkpoint, CheckpointError, parse_checkpoint
from audit.tlog.hashing import EMPTY_ROOT

ROOT = bytes(range(32))
ROOT_B64 = base64.b64encode(ROOT).decode()


def test_to_text_layout() -> None:
    cp = Checkpoint("example.com/log", 20852163, ROOT)
    assert cp.to_text() == f"example.com/log\n20852163\n{ROOT_B64}\n"
    with_ext = Checkpoint("example.com/log", 0, EMPTY_ROOT, ("ext one", "ext two"))
    assert with_ext.to_text().endswith("\next one\next two\n")


def test_spec_example_parses() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    cp = Checkpoint.parse(text)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert cp.to_text() == text
    assert parse_checkpoint(text) == cp


@settings(max_examples=100, deadline=None)
@given(
    origin=st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40
    ),
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1),
        max_size=3,
    ),
)
def test_round_trip(origin: str, size: int, root: bytes, extensions: list[str]) -> None:
    cp = Checkpoint(origin, size, root, tuple(extensions))
    assert Checkpoint.parse(cp.to_text()) == cp


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"log\n5\n{ROOT_B64}", "newline"),
        ("log\n5\n", "origin, size and root"),
        (f"\n5\n{ROOT_B64}\n", "origin is empty"),
        (f"log\n05\n{ROOT_B64}\n", "leading zeros"),
        (f"log\n+5\n{ROOT_B64}\n", "leading zeros"),
        (f"log\n-1\n{ROOT_B64}\n", "leading zeros"),
        (f"log\n 5\n{ROOT_B64}\n", "leading zeros"),
        (f"log\n\n{ROOT_B64}\n", "leading zeros"),
        (f"log\n\u0665\n{ROOT_B64}\n", "leading zeros"),  # Arabic-Indic digit five
        (f"log\n{2**64}\n{ROOT_B64}\n", "leading zeros"),
        ("log\n5\nAAAA\n", "bytes long"),
        (f"log\n5\n{ROOT_B64[:-1]}\n", "base64"),
        (f"log\n5\n {ROOT_B64}\n", "base64"),
        (f"log\n5\n{base64.b64encode(ROOT + b'x').decode()}\n", "bytes long"),
        (f"log\n5\n{ROOT_B64}\n\n", "extension line is empty"),
        (f"log\r\n5\n{ROOT_B64}\n", "control character"),
    ],
)
def test_strict_parse_errors(text: str, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason):
        Checkpoint.parse(text)


def test_constructor_validates() -> None:
    with pytest.raises(CheckpointError):
        Checkpoint("", 1, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint("a\nb", 1, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint("log", -1, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint("log", 1, ROOT[:31])
    with pytest.raises(CheckpointError):
        Checkpoint("log", 1, ROOT, ("",))
