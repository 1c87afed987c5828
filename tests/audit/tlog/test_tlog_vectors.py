"""The RFC 6962 golden vectors of transparency-dev/merkle: 196 inclusion and consistency cases."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from audit.tlog.merkle import ProofError, verify_consistency, verify_inclusion


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b64(p) for p in case["proof"] or []]


def test_vector_count(vectors_dir: Path) -> None:
    files = list((vectors_dir / "rfc6962").rglob("*.json"))
    inclusion = [f for f in files if "inclusion" in f.relative_to(vectors_dir).parts]
    consistency = [f for f in files if "consistency" in f.relative_to(vectors_dir).parts]
    assert len(files) == 196
    assert len(inclusion) + len(consistency) == 196


def test_inclusion_vector(rfc6962_inclusion_case: dict[str, Any]) -> None:
    case = rfc6962_inclusion_case

    def run() -> None:
        verify_inclusion(
            case["leafIdx"],
            case["treeSize"],
            _b64(case["leafHash"]),
            _proof(case),
            _b64(case["root"]),
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            run()
    else:
        run()


def test_consistency_vector(rfc6962_consistency_case: dict[str, Any]) -> None:
    case = rfc6962_consistency_case

    def run() -> None:
        verify_consistency(
            case["size1"],
            case["size2"],
            _b64(case["root1"]),
            _b64(case["root2"]),
            _proof(case),
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            run()
    else:
        run()
