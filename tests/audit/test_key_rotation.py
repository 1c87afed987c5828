"""Rotating the log's signing key (docs/operations.md): checkpoints signed before the rotation
still verify with audit_verify once the old key's verifier is listed in
AUDIT_LOG_PREVIOUS_VERIFIER_KEYS, and not without it; the offline verifier proves consistency
from an old-key checkpoint to a new-key one when given both keys; a witness that holds the new
key cosigns across the change."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.ledger import consistency_proof_between, ledger_append, ledger_integrate
from audit.models import Checkpoint
from audit.tlog.note import generate_signer, parse_note
from audit.witnessing import witness_run
from tests.support.events import TEST_EVENT

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _grow(n: int) -> Checkpoint:
    for _ in range(n):
        ledger_append(event_type=TEST_EVENT, fields={"outcome": "provided"})
    result = ledger_integrate()
    assert result.checkpoint is not None
    return result.checkpoint


@pytest.fixture
def rotated(settings, tmp_path):
    """A log of 5 entries signed with an old key, then 3 more with a new one."""
    old_signer, old_verifier = generate_signer(settings.AUDIT_LOG_ORIGIN)
    new_signer, new_verifier = generate_signer(settings.AUDIT_LOG_ORIGIN)
    settings.AUDIT_LOG_SIGNING_KEY = old_signer
    settings.AUDIT_LOG_PREVIOUS_VERIFIER_KEYS = []
    before = _grow(5)
    witness_dir = tmp_path / "witness"
    assert witness_run(directory=witness_dir).size == 5
    settings.AUDIT_LOG_SIGNING_KEY = new_signer  # the rotation
    after = _grow(3)
    return {
        "old": old_verifier,
        "new": new_verifier,
        "before": before,
        "after": after,
        "witness_dir": witness_dir,
    }


def _signers(note: str) -> set[str]:
    return {sig.name + "+" + sig.key_id.hex() for sig in parse_note(note).signatures}


def test_checkpoints_are_signed_by_the_key_of_their_time(rotated):
    old_id = "+".join(rotated["old"].split("+")[:2])
    new_id = "+".join(rotated["new"].split("+")[:2])
    assert _signers(rotated["before"].note) == {old_id}
    assert _signers(rotated["after"].note) == {new_id}


def test_audit_verify_needs_the_old_verifier_key_listed(rotated, capsys):
    with pytest.raises(CommandError, match="not signed by any known key"):
        call_command("audit_verify")
    settings.AUDIT_LOG_PREVIOUS_VERIFIER_KEYS = [rotated["old"]]
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert out.startswith("OK: entries 0..7 verified")
    # The checkpoints of both keys were checked (sizes 0, 5 and 8).
    assert f"{Checkpoint.objects.count()} checkpoints checked" in out


def test_a_wrong_previous_key_does_not_help(rotated):
    _, unrelated = generate_signer(settings.AUDIT_LOG_ORIGIN)
    settings.AUDIT_LOG_PREVIOUS_VERIFIER_KEYS = [unrelated]
    with pytest.raises(CommandError, match="not signed by any known key"):
        call_command("audit_verify")


def test_offline_consistency_across_the_rotation_needs_both_keys(rotated, tmp_path):
    before, after = rotated["before"], rotated["after"]
    proof = consistency_proof_between(before.size, after.size)
    files = {
        "old": before.note,
        "new": after.note,
        "proof": "".join(base64.b64encode(h).decode() + "\n" for h in proof),
    }
    for name, text in files.items():
        (tmp_path / name).write_bytes(text.encode())

    def verify(*keys: str) -> subprocess.CompletedProcess[str]:
        args = [a for key in keys for a in ("--vkey", key)]
        return subprocess.run(
            [sys.executable, "-m", "audit.tlog.verify", "consistency"]
            + [str(tmp_path / n) for n in ("old", "new", "proof")]
            + args,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )

    only_old = verify(rotated["old"])
    assert only_old.returncode == 1 and "new checkpoint" in only_old.stdout + only_old.stderr
    both = verify(rotated["old"], rotated["new"])
    assert both.returncode == 0, both.stdout + both.stderr
    old_id = "+".join(rotated["old"].split("+")[:2])
    new_id = "+".join(rotated["new"].split("+")[:2])
    assert both.stdout.strip().endswith(f"old signed by {old_id}, new signed by {new_id}")


def test_a_witness_with_the_new_key_cosigns_across_the_rotation(rotated):
    # The witness's state is the old-key checkpoint of size 5; it checks consistency to 8.
    outcome = witness_run(directory=rotated["witness_dir"])
    assert outcome.size == 8 and outcome.stored
