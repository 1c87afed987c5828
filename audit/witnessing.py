"""Running a witness beside the log (the witness_cosign command and its beat task).

The witness keeps its own key and state in a folder of its own (settings.WITNESS_DIR by
default), never in the log's database, so that the log's operator cannot quietly reset it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from audit.ledger import consistency_proof_between, latest_checkpoint, log_verifier
from audit.models import Checkpoint, WitnessCosignature
from audit.signals import witness_refused
from audit.tlog.checkpoint import Checkpoint as CheckpointBody
from audit.tlog.cosignature import WitnessSigner, generate_witness, parse_witness_signer_key
from audit.tlog.errors import TlogError
from audit.tlog.note import NoteVerifier, open_note
from audit.tlog.witness import WitnessRefusal, WitnessState, witness_checkpoint

DEFAULT_WITNESS_NAME = "witness.yaritori.invalid"


@dataclass(frozen=True)
class WitnessOutcome:
    """A cosignature the witness gave: its line, the size it covers, whether it was stored."""

    line: str
    size: int
    stored: bool


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)  # atomic: the state is never half-written


def load_witness_signer(directory: Path, name: str = DEFAULT_WITNESS_NAME) -> WitnessSigner:
    """The witness's key from directory/witness.key, generated on first use."""
    directory.mkdir(parents=True, exist_ok=True)
    key_file = directory / "witness.key"
    if not key_file.exists():
        signer_text, verifier_text = generate_witness(name)
        _write_private(key_file, signer_text + "\n")
        (directory / "witness.vkey").write_text(verifier_text + "\n")
    return parse_witness_signer_key(key_file.read_text().strip())


def witness_run(
    *,
    directory: Path,
    signed_note: str | None = None,
    verifier: NoteVerifier | None = None,
    now: int | None = None,
) -> WitnessOutcome:
    """Witness the given checkpoint note (default: the log's latest) and advance the state.

    Raises WitnessRefusal when the checkpoint does not extend the last one this witness
    cosigned; the state is then left as it was.
    """
    signer = load_witness_signer(directory)
    state_file = directory / "state.json"
    state = WitnessState.from_json(state_file.read_text()) if state_file.exists() else None
    if signed_note is None:
        latest = latest_checkpoint()
        if latest is None:
            raise WitnessRefusal("the log has no checkpoint yet")
        signed_note = latest.note
    verifier = verifier or log_verifier()
    timestamp = int(time.time()) if now is None else now
    try:
        line, new_state = witness_checkpoint(
            signed_note,
            log_verifier=verifier,
            signer=signer,
            state=state,
            consistency=consistency_proof_between,
            timestamp=timestamp,
        )
    except WitnessRefusal as refusal:
        # Whoever runs the witness (beat, the command) sees the exception; the signal lets
        # the auditors' side record it and raise the alarm without the ledger knowing them.
        witness_refused.send(
            sender=witness_run,
            witness=signer.name,
            size=_shown_size(signed_note),
            reason=str(refusal),
        )
        raise
    stored = _store_cosignature(signed_note, line, timestamp, signer, verifier)
    _write_private(state_file, new_state.to_json())
    return WitnessOutcome(line=line, size=new_state.size, stored=stored)


def _shown_size(signed_note: str) -> int | None:
    """The tree size the note claims, read without checking anything (None if unreadable)."""
    try:
        return CheckpointBody.parse(signed_note.split("\n\n", 1)[0] + "\n").size
    except TlogError:
        return None


@transaction.atomic
def _store_cosignature(
    signed_note: str, line: str, timestamp: int, signer: WitnessSigner, verifier: NoteVerifier
) -> bool:
    text, _ = open_note(signed_note, [verifier])
    body = CheckpointBody.parse(text)
    checkpoint = Checkpoint.objects.filter(size=body.size).first()
    if checkpoint is None or bytes(checkpoint.root_hash) != body.root_hash:
        return False  # not this log's checkpoint (a checkpoint shown from elsewhere)
    _, created = WitnessCosignature.objects.get_or_create(
        checkpoint=checkpoint,
        witness=signer.name,
        key_id=signer.key_id.hex(),
        defaults={"line": line, "timestamp": timestamp},
    )
    return created
