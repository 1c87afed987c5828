"""Fixtures for the audit.tlog tests: the golden vectors in ../shared/vectors.

The vectors live beside the repository (``/work/shared/vectors`` for ``/work/main``) and are
never copied into it. When the folder is missing the tests that need it are skipped, unless
REQUIRE_SERVICES=1 (as in CI), where a missing folder is a failure.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from audit.tlog.checkpoint import Checkpoint
from audit.tlog.cosignature import add_cosignature, generate_witness, parse_witness_signer_key
from audit.tlog.hashing import leaf_hash
from audit.tlog.merkle import (
    consistency_proof,
    inclusion_proof,
    root_from_leaf_hashes,
    subtree_hash_over,
)
from audit.tlog.note import generate_signer, parse_signer_key, parse_verifier_key, sign_note
from audit.tlog.receipt import Receipt

REPO_ROOT = Path(__file__).resolve().parents[3]
# ../shared beside the checkout, or YARITORI_SHARED_DIR (a git worktree), as tests/conftest.py.
VECTORS_DIR = Path(os.environ.get("YARITORI_SHARED_DIR", REPO_ROOT.parent / "shared")) / "vectors"
RFC6962_DIR = VECTORS_DIR / "rfc6962"


def _vectors_missing() -> None:
    message = f"golden vectors not found at {VECTORS_DIR}"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _case_files(kind: str) -> list[Path]:
    if not RFC6962_DIR.is_dir():
        return []
    return sorted((RFC6962_DIR / kind).rglob("*.json"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # One test case per JSON file; with the folder missing, a single placeholder case whose
    # fixture skips (or fails under REQUIRE_SERVICES=1) instead of silently running nothing.
    for kind in ("inclusion", "consistency"):
        name = f"rfc6962_{kind}_case"
        if name in metafunc.fixturenames:
            files = _case_files(kind)
            if files:
                ids = [str(f.relative_to(RFC6962_DIR / kind)) for f in files]
                metafunc.parametrize(name, files, ids=ids, indirect=True)
            else:
                metafunc.parametrize(name, [None], ids=["vectors-missing"], indirect=True)


def _load_case(request: pytest.FixtureRequest) -> dict[str, Any]:
    path = request.param
    if path is None:
        _vectors_missing()
    case: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return case


@pytest.fixture
def rfc6962_inclusion_case(request: pytest.FixtureRequest) -> dict[str, Any]:
    """One inclusion vector: {leafIdx, treeSize, root, leafHash, proof, desc, wantErr}."""
    return _load_case(request)


@pytest.fixture
def rfc6962_consistency_case(request: pytest.FixtureRequest) -> dict[str, Any]:
    """One consistency vector: {size1, size2, root1, root2, proof, desc, wantErr}."""
    return _load_case(request)


@pytest.fixture
def vectors_dir() -> Path:
    """The shared golden-vectors folder (skips or fails when it is missing, see module doc)."""
    if not VECTORS_DIR.is_dir():
        _vectors_missing()
    return VECTORS_DIR


@pytest.fixture
def repo_root() -> Path:
    """The repository root, the working directory for running ``python -m audit.tlog.verify``."""
    return REPO_ROOT


class DemoLog:
    """A small in-memory log signed by a fresh key, to build checkpoints and receipts from."""

    ORIGIN = "demo.yaritori.invalid/audit-log"

    def __init__(self, entries: int) -> None:
        self.signer_key, self.verifier_key = generate_signer(self.ORIGIN)
        self.signer = parse_signer_key(self.signer_key)
        self.verifier = parse_verifier_key(self.verifier_key)
        self.witness_signer_key, self.witness_verifier_key = generate_witness("witness.example/w1")
        self.witness = parse_witness_signer_key(self.witness_signer_key)
        self.leaves = [
            f'{{"request_id":"r{i}","outcome":"provided","version":1}}'.encode()
            for i in range(entries)
        ]
        self.leaf_hashes = [leaf_hash(x) for x in self.leaves]

    def checkpoint_note(self, size: int, *, cosign_at: int | None = None) -> str:
        body = Checkpoint(self.ORIGIN, size, root_from_leaf_hashes(self.leaf_hashes[:size]))
        note = sign_note(body.to_text(), [self.signer])
        if cosign_at is not None:
            note = add_cosignature(note, self.witness, cosign_at, self.verifier)
        return note

    def receipt_text(
        self, index: int, size: int, *, with_leaf: bool = True, cosign_at: int | None = None
    ) -> str:
        proof = inclusion_proof(index, size, subtree_hash_over(self.leaf_hashes[:size]))
        return Receipt(
            index=index,
            proof=tuple(proof),
            checkpoint_note=self.checkpoint_note(size, cosign_at=cosign_at),
            extra=self.leaves[index] if with_leaf else None,
        ).to_text()

    def consistency_proof_text(self, old: int, new: int) -> str:
        proof = consistency_proof(old, new, subtree_hash_over(self.leaf_hashes[:new]))
        return "".join(base64.b64encode(h).decode() + "\n" for h in proof)


@pytest.fixture(scope="module")
def demo_log() -> DemoLog:
    """A signed log of 13 JSON entries, with one witness key."""
    return DemoLog(13)
