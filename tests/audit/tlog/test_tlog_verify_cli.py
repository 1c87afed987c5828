"""The offline verifier `python -m audit.tlog.verify`: output lines and exit codes.

The main paths run in a real subprocess, as a resident would run them; the rest call main()
in-process to keep the suite fast.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audit.tlog.note import generate_signer
from audit.tlog.verify import main


def run_cli(repo_root: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audit.tlog.verify", *map(str, args)],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8"))  # no newline translation, even on Windows
    return path


# ------------------------------------------------------------------------------------------
# Subprocess: what a resident or auditor runs
# ------------------------------------------------------------------------------------------


def test_receipt_ok(repo_root: Path, tmp_path: Path, demo_log: Any) -> None:
    receipt = write(tmp_path / "entry.tlog-proof", demo_log.receipt_text(5, 13))
    result = run_cli(repo_root, "receipt", receipt, "--vkey", demo_log.verifier_key)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("OK receipt: entry 5 ")
    assert "demo.yaritori.invalid/audit-log at size 13" in lines[0]


def test_receipt_tampered_fails(repo_root: Path, tmp_path: Path, demo_log: Any) -> None:
    text = demo_log.receipt_text(5, 13).replace("index 5", "index 4")
    receipt = write(tmp_path / "entry.tlog-proof", text)
    result = run_cli(repo_root, "receipt", receipt, "--vkey", demo_log.verifier_key)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("FAILED: inclusion:")


def test_receipt_usage_errors(repo_root: Path, tmp_path: Path, demo_log: Any) -> None:
    assert run_cli(repo_root).returncode == 2
    assert run_cli(repo_root, "receipt", tmp_path / "missing").returncode == 2  # no --vkey
    missing = run_cli(repo_root, "receipt", tmp_path / "missing", "--vkey", demo_log.verifier_key)
    assert missing.returncode == 2
    assert "cannot read receipt" in missing.stderr
    receipt = write(tmp_path / "entry.tlog-proof", demo_log.receipt_text(5, 13))
    bad_key = run_cli(repo_root, "receipt", receipt, "--vkey", "not-a-key")
    assert bad_key.returncode == 2
    assert "--vkey" in bad_key.stderr


def test_consistency_ok_and_failed(repo_root: Path, tmp_path: Path, demo_log: Any) -> None:
    old = write(tmp_path / "old.checkpoint", demo_log.checkpoint_note(6))
    new = write(tmp_path / "new.checkpoint", demo_log.checkpoint_note(13))
    proof = write(tmp_path / "proof.txt", demo_log.consistency_proof_text(6, 13))
    key_file = write(tmp_path / "log.vkey", demo_log.verifier_key + "\n")

    ok = run_cli(repo_root, "consistency", old, new, proof, "--vkey", key_file)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    name_and_key_id = "+".join(demo_log.verifier_key.split("+")[:2])  # base64 may hold "+" too
    assert ok.stdout.splitlines() == [
        "OK consistency: log demo.yaritori.invalid/audit-log at size 13 extends size 6 "
        f"without changing it; both signed by {name_and_key_id}"
    ]

    unsigned = run_cli(repo_root, "consistency", old, new, proof)
    assert unsigned.returncode == 0
    assert "signatures NOT checked" in unsigned.stdout

    swapped = run_cli(repo_root, "consistency", new, old, proof, "--vkey", key_file)
    assert swapped.returncode == 1
    assert swapped.stdout.startswith("FAILED: ")
    assert len(swapped.stdout.splitlines()) == 1


# ------------------------------------------------------------------------------------------
# In-process: the remaining cases
# ------------------------------------------------------------------------------------------


def _main(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_receipt_with_separate_leaf_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, demo_log: Any
) -> None:
    receipt = write(tmp_path / "r.tlog-proof", demo_log.receipt_text(3, 13, with_leaf=False))
    leaf = write(tmp_path / "leaf.json", demo_log.leaves[3])
    vkey = demo_log.verifier_key
    code, out, _ = _main(capsys, "receipt", receipt, "--vkey", vkey, "--leaf", leaf)
    assert (code, out[:11]) == (0, "OK receipt:")

    code, out, _ = _main(capsys, "receipt", receipt, "--vkey", vkey)
    assert code == 1
    assert out.startswith("FAILED: receipt carries no leaf bytes")

    newline = write(tmp_path / "leaf-nl.json", demo_log.leaves[3] + b"\n")
    code, out, _ = _main(capsys, "receipt", receipt, "--vkey", vkey, "--leaf", newline)
    assert code == 1
    assert "ends with a newline" in out
    assert len(out.splitlines()) == 1


def test_receipt_with_witnesses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, demo_log: Any
) -> None:
    vkey, wkey = demo_log.verifier_key, demo_log.witness_verifier_key
    cosigned = write(tmp_path / "c.tlog-proof", demo_log.receipt_text(8, 13, cosign_at=1234))
    plain = write(tmp_path / "p.tlog-proof", demo_log.receipt_text(8, 13))

    code, out, _ = _main(capsys, "receipt", cosigned, "--vkey", vkey, "--witness", wkey)
    assert code == 0
    assert out.rstrip().endswith("cosigned by witness.example/w1 at 1234")

    code, out, _ = _main(capsys, "receipt", plain, "--vkey", vkey, "--witness", wkey)
    assert code == 1
    assert "witness cosignatures" in out

    args = ("receipt", plain, "--vkey", vkey, "--witness", wkey, "--quorum", "0")
    assert _main(capsys, *args)[0] == 0
    args = ("receipt", plain, "--vkey", vkey, "--witness", wkey, "--quorum", "2")
    assert _main(capsys, *args)[0] == 2
    # A log key given where a witness key is expected is a usage error.
    assert _main(capsys, "receipt", plain, "--vkey", vkey, "--witness", vkey)[0] == 2


def test_receipt_checks(capsys: pytest.CaptureFixture[str], tmp_path: Path, demo_log: Any) -> None:
    receipt = write(tmp_path / "r.tlog-proof", demo_log.receipt_text(0, 13))
    _, other_key = generate_signer("demo.yaritori.invalid/audit-log")
    code, out, _ = _main(capsys, "receipt", receipt, "--vkey", other_key)
    assert code == 1
    assert out.startswith("FAILED: checkpoint signature:")

    vkey = demo_log.verifier_key
    code, out, _ = _main(capsys, "receipt", receipt, "--vkey", vkey, "--origin", "x.example/log")
    assert code == 1

    crlf = write(tmp_path / "crlf.tlog-proof", demo_log.receipt_text(0, 13).replace("\n", "\r\n"))
    code, out, _ = _main(capsys, "receipt", crlf, "--vkey", vkey)
    assert code == 1
    assert out.startswith("FAILED: malformed receipt")

    latin = write(tmp_path / "latin.tlog-proof", b"\xff\xfe")
    assert _main(capsys, "receipt", latin, "--vkey", vkey)[0] == 1


def test_consistency_checks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, demo_log: Any
) -> None:
    old = write(tmp_path / "old", demo_log.checkpoint_note(6))
    new = write(tmp_path / "new", demo_log.checkpoint_note(13))
    proof = write(tmp_path / "proof", demo_log.consistency_proof_text(6, 13))
    vkey = demo_log.verifier_key

    # Blank lines and stray spaces in the unsigned proof file are tolerated.
    loose = write(tmp_path / "loose", "\n  " + demo_log.consistency_proof_text(6, 13) + "\n\n")
    assert _main(capsys, "consistency", old, new, loose, "--vkey", vkey)[0] == 0

    wrong = write(tmp_path / "wrong", demo_log.consistency_proof_text(7, 13))
    code, out, _ = _main(capsys, "consistency", old, new, wrong, "--vkey", vkey)
    assert code == 1
    assert out.startswith("FAILED: ")

    garbage = write(tmp_path / "garbage", "not base64\n")
    assert _main(capsys, "consistency", old, new, garbage)[0] == 1

    same = write(tmp_path / "empty", "")
    code, out, _ = _main(capsys, "consistency", new, new, same, "--vkey", vkey)
    assert code == 0

    _, other_key = generate_signer("demo.yaritori.invalid/audit-log")
    code, out, _ = _main(capsys, "consistency", old, new, proof, "--vkey", other_key)
    assert code == 1
    assert out.startswith("FAILED: old checkpoint:")

    assert _main(capsys, "consistency", old, new, tmp_path / "nope")[0] == 2
