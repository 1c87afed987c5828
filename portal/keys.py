"""The keys the portal pins: the log's verifier key and the witnesses' (PORTAL_WITNESS_KEYS,
or the demo's own witness from WITNESS_DIR/witness.vkey), their fingerprints, and the proof
bundle a record page verifies with them in the browser."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Q

from audit.ledger import cosigned_note, inclusion_proof_for, latest_checkpoint, log_verifier
from audit.models import Checkpoint
from audit.tlog.cosignature import WitnessVerifier, parse_witness_verifier_key
from audit.tlog.errors import TlogError


@dataclass(frozen=True)
class PinnedKey:
    """A verifier key text, its name and the fingerprint people compare."""

    role: str  # "log" or "witness"
    name: str
    key_id: str
    text: str
    fingerprint: str


def fingerprint(public_key: bytes) -> str:
    """SHA-256 of the raw public key, the first 128 bits in groups of four hex digits (the
    same as tlog.js fingerprint())."""
    digest = hashlib.sha256(public_key).hexdigest()[:32]
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


def witness_verifiers() -> list[WitnessVerifier]:
    """The pinned witnesses: PORTAL_WITNESS_KEYS, else the demo witness's key file."""
    texts = list(settings.PORTAL_WITNESS_KEYS)
    if not texts:
        vkey = Path(settings.WITNESS_DIR) / "witness.vkey"
        if vkey.exists():
            texts = [vkey.read_text().strip()]
    verifiers = []
    for text in texts:
        try:
            verifiers.append(parse_witness_verifier_key(text))
        except TlogError:
            continue  # a malformed key pins nothing; docs/portal.md says how to set them
    return verifiers


def pinned_keys() -> list[PinnedKey]:
    """The log's key first, then each witness's."""
    log = log_verifier()
    keys = [
        PinnedKey(
            "log", log.name, log.key_id.hex(), log.to_key_text(), fingerprint(log.public_key_bytes)
        )
    ]
    keys += [
        PinnedKey(
            "witness", w.name, w.key_id.hex(), w.to_key_text(), fingerprint(w.public_key_bytes)
        )
        for w in witness_verifiers()
    ]
    return keys


def checkpoint_for(max_seq: int) -> Checkpoint | None:
    """The newest checkpoint covering max_seq that the pinned witnesses cosigned (quorum), or,
    while none has, the newest checkpoint covering it (the page then says it is not yet
    witnessed)."""
    pinned = [w.key_id.hex() for w in witness_verifiers()]
    quorum = max(1, settings.PORTAL_WITNESS_QUORUM)
    if pinned:
        witnessed = (
            Checkpoint.objects.filter(size__gt=max_seq)
            .annotate(n=Count("cosignatures", filter=Q(cosignatures__key_id__in=pinned)))
            .filter(n__gte=quorum)
            .order_by("-size")
            .first()
        )
        if witnessed is not None:
            return witnessed
    latest = latest_checkpoint()
    return latest if latest is not None and latest.size > max_seq else None


def proof_bundle(entries: list[tuple[int, int | None, str]]) -> dict[str, object]:
    """What a record page verifies: each entry (intake id, seq, leaf), its inclusion proof
    under one checkpoint, and that checkpoint's note with its cosignatures. Entries not yet
    sequenced have seq None and no proof."""
    sequenced = [seq for _, seq, _ in entries if seq is not None]
    checkpoint = checkpoint_for(max(sequenced)) if sequenced else None
    out_entries = []
    for intake_id, seq, leaf in entries:
        proof: list[str] | None = None
        if seq is not None and checkpoint is not None:
            proof = [
                base64.b64encode(h).decode() for h in inclusion_proof_for(seq, checkpoint.size)
            ]
        out_entries.append({"intake_id": intake_id, "seq": seq, "leaf": leaf, "proof": proof})
    return {
        "entries": out_entries,
        "checkpoint": None
        if checkpoint is None
        else {"size": checkpoint.size, "note": cosigned_note(checkpoint)},
    }
