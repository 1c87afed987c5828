"""The witness cosigns only checkpoints that extend what it cosigned before."""

import uuid

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from audit.ledger import (
    latest_checkpoint,
    ledger_append,
    ledger_integrate,
    log_signer,
    log_verifier,
)
from audit.models import WitnessCosignature
from audit.tlog.checkpoint import Checkpoint as CheckpointBody
from audit.tlog.cosignature import parse_witness_verifier_key, verify_cosignature
from audit.tlog.note import sign_note
from audit.tlog.receipt import verify_receipt
from audit.witnessing import witness_run
from tests.support.events import TEST_EVENT


def grow(n):
    for _ in range(n):
        ledger_append(
            event_type=TEST_EVENT,
            fields={"request_id": str(uuid.uuid4()), "outcome": "provided"},
        )
    return ledger_integrate().checkpoint


@pytest.fixture
def witness_dir(tmp_path):
    return tmp_path / "witness"


def witness(witness_dir, *args):
    try:
        call_command("witness_cosign", "--dir", str(witness_dir), *args)
    except CommandError as exc:
        return str(exc)
    return "OK"


@pytest.mark.django_db
def test_cosigns_consistent_growth_and_the_cosignature_verifies(witness_dir):
    grow(3)
    assert witness(witness_dir) == "OK"
    grow(5)
    assert witness(witness_dir) == "OK"
    checkpoint = latest_checkpoint()
    assert checkpoint is not None
    assert checkpoint.cosignatures.count() == 1
    from audit.ledger import cosigned_note, receipt_for

    verifier = parse_witness_verifier_key((witness_dir / "witness.vkey").read_text().strip())
    cosig = verify_cosignature(cosigned_note(checkpoint), verifier)
    assert cosig.name == verifier.name
    # Receipts carry the cosignatures and can require them.
    verified = verify_receipt(receipt_for(4), None, log_verifier(), witnesses=[verifier])
    assert len(verified.cosignatures) == 1


@pytest.mark.django_db
def test_refuses_a_second_checkpoint_of_the_same_size(witness_dir, tmp_path):
    checkpoint = grow(4)
    assert witness(witness_dir) == "OK"
    # The log (its key in hostile hands) shows someone else another tree of the same size.
    forged = sign_note(
        CheckpointBody(settings.AUDIT_LOG_ORIGIN, checkpoint.size, b"\x07" * 32).to_text(),
        [log_signer()],
    )
    path = tmp_path / "forged.note"
    path.write_text(forged)
    message = witness(witness_dir, "--checkpoint", str(path))
    assert message.startswith("REFUSED: fork: a different tree of size 4")
    # The state did not move: the genuine checkpoint is still accepted.
    assert witness(witness_dir) == "OK"
    assert WitnessCosignature.objects.count() == 1


@pytest.mark.django_db
def test_refuses_inconsistent_growth_then_rollback(witness_dir, tmp_path):
    small = grow(2)
    assert witness(witness_dir) == "OK"
    grow(6)
    # A size-8 tree that does not extend the cosigned size-2 tree.
    path = tmp_path / "other.note"
    path.write_text(
        sign_note(
            CheckpointBody(settings.AUDIT_LOG_ORIGIN, 8, b"\x09" * 32).to_text(), [log_signer()]
        )
    )
    assert witness(witness_dir, "--checkpoint", str(path)).startswith(
        "REFUSED: size 8 is not consistent with size 2"
    )
    assert witness(witness_dir) == "OK"  # the genuine size 8
    path.write_text(small.note)
    assert witness(witness_dir, "--checkpoint", str(path)).startswith(
        "REFUSED: log rolled back: size 2 after size 8"
    )


@pytest.mark.django_db
def test_refuses_a_checkpoint_not_signed_by_the_log(witness_dir, tmp_path):
    grow(1)
    path = tmp_path / "unsigned.note"
    path.write_text(latest_checkpoint().note.replace(settings.AUDIT_LOG_ORIGIN, "evil.example"))
    assert witness(witness_dir, "--checkpoint", str(path)).startswith("REFUSED: not a checkpoint")


@pytest.mark.django_db
def test_witness_run_service_returns_the_line(witness_dir):
    grow(2)
    outcome = witness_run(directory=witness_dir, now=1_700_000_000)
    assert outcome.size == 2
    assert outcome.stored
    assert outcome.line.startswith("— ")
