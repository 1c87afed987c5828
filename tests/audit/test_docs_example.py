"""The worked example in docs/log-format.md still verifies, and its numbers are still what the
code computes (a third party reimplements from that page)."""

import base64
import hashlib
import re
import subprocess
import sys
from pathlib import Path

from audit.ledger import chain_genesis
from audit.tlog.hashing import leaf_hash
from audit.tlog.note import parse_verifier_key
from audit.tlog.receipt import verify_receipt

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs/log-format.md").read_text()
RECEIPT = (ROOT / "docs/examples/entry-1.tlog-proof").read_text()
VKEY = (ROOT / "docs/examples/example-log.vkey").read_text().strip()


def test_receipt_file_verifies_and_matches_the_page():
    verified = verify_receipt(RECEIPT, None, parse_verifier_key(VKEY))
    assert verified.index == 1
    assert verified.checkpoint.size == 3
    assert RECEIPT.strip() in DOC
    assert verified.leaf.decode() in DOC
    assert verified.leaf_hash.hex() in DOC
    assert base64.b64encode(verified.checkpoint.root_hash).decode() in DOC


def test_chain_values_on_the_page_are_recomputable():
    genesis = chain_genesis("example.yaritori.invalid/audit-log").hex()
    assert (
        genesis
        == hashlib.sha256(b"yaritori/chain/v1\nexample.yaritori.invalid/audit-log").hexdigest()
    )
    rows = re.findall(r"^\| (genesis|\d) \| `([0-9a-f]{64})` \|$", DOC, re.M)
    values = dict(rows)
    assert values["genesis"] == genesis
    leaves = re.findall(r"^\{\"affair\".*\}$", DOC, re.M)
    assert len(leaves) == 1  # entry 1 is printed in full
    leaf_hashes = dict(re.findall(r"^\| (\d) \| `([0-9a-f]{64})` \|$", DOC.split("## 3.")[0], re.M))
    assert leaf_hash(leaves[0].encode()).hex() == leaf_hashes["1"]
    chain = bytes.fromhex(genesis)
    for n in "012":
        chain = hashlib.sha256(chain + bytes.fromhex(leaf_hashes[n])).digest()
        assert chain.hex() in DOC.split("## 3.")[1].split("## 4.")[0]


def test_offline_cli_accepts_the_example():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "audit.tlog.verify",
            "receipt",
            "docs/examples/entry-1.tlog-proof",
            "--vkey",
            "docs/examples/example-log.vkey",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK receipt: entry 1")
