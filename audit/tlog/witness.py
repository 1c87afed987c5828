"""A witness: cosign a log's checkpoint only if it extends the last checkpoint it cosigned.

A witness keeps one small state per log: the size and root of the last checkpoint it vouched
for. Shown a new checkpoint, it checks the log's signature, then that the new tree is an
extension of the old one (a consistency proof), and only then cosigns and advances. So a log
that shows two different trees of the same size, or rolls back, to different people cannot get
both versions cosigned by the same witness: a split view is caught.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._text import b64decode_strict, b64encode
from .checkpoint import Checkpoint
from .cosignature import WitnessSigner, cosign
from .errors import TlogError
from .merkle import verify_consistency
from .note import NoteVerifier, open_note

__all__ = ["WitnessRefusal", "WitnessState", "witness_checkpoint"]


class WitnessRefusal(TlogError):
    """The witness will not cosign this checkpoint; the message says why."""


@dataclass(frozen=True)
class WitnessState:
    """The last checkpoint a witness cosigned for one log."""

    origin: str
    size: int
    root_hash: bytes

    def to_json(self) -> str:
        """The state as a small JSON document (root in base64)."""
        return json.dumps(
            {"origin": self.origin, "size": self.size, "root": b64encode(self.root_hash)},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> WitnessState:
        """Parse what to_json() wrote; raises TlogError when it is damaged."""
        try:
            data = json.loads(text)
            root = b64decode_strict(data["root"])
            if root is None or not isinstance(data["size"], int):
                raise ValueError("bad root or size")
            return cls(str(data["origin"]), data["size"], root)
        except (ValueError, KeyError, TypeError) as exc:
            raise TlogError(f"witness state is damaged: {exc}") from exc


ConsistencySource = Callable[[int, int], Sequence[bytes]]
"""Returns the log's consistency proof from an old size to a new size."""


def witness_checkpoint(
    signed_note: str,
    *,
    log_verifier: NoteVerifier,
    signer: WitnessSigner,
    state: WitnessState | None,
    consistency: ConsistencySource,
    timestamp: int,
) -> tuple[str, WitnessState]:
    """Check a checkpoint against the witness's state; return (cosignature line, new state).

    Raises WitnessRefusal when the log's signature is missing or wrong, the origin is another
    log's, the tree is smaller than the one already cosigned, a tree of the same size has a
    different root (a fork), or the consistency proof does not hold.
    """
    try:
        text, _ = open_note(signed_note, [log_verifier])
        checkpoint = Checkpoint.parse(text)
    except TlogError as exc:
        raise WitnessRefusal(f"not a checkpoint signed by the log: {exc}") from exc
    if state is not None:
        if checkpoint.origin != state.origin:
            raise WitnessRefusal(
                f"checkpoint is for log {checkpoint.origin!r}, this witness follows "
                f"{state.origin!r}"
            )
        if checkpoint.size < state.size:
            raise WitnessRefusal(
                f"log rolled back: size {checkpoint.size} after size {state.size} was cosigned"
            )
        if checkpoint.size == state.size:
            if checkpoint.root_hash != state.root_hash:
                raise WitnessRefusal(
                    f"fork: a different tree of size {checkpoint.size} was already cosigned"
                )
        else:
            try:
                proof = consistency(state.size, checkpoint.size) if state.size else []
                if state.size:
                    verify_consistency(
                        state.size, checkpoint.size, state.root_hash, checkpoint.root_hash, proof
                    )
            except TlogError as exc:
                raise WitnessRefusal(
                    f"size {checkpoint.size} is not consistent with size {state.size}: {exc}"
                ) from exc
    line = cosign(text, signer, timestamp)
    return line, WitnessState(checkpoint.origin, checkpoint.size, checkpoint.root_hash)
