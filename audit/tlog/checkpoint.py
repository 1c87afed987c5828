"""C2SP tlog-checkpoint bodies (c2sp.org/tlog-checkpoint).

A checkpoint is the text of a signed note (see note.py) made of at least three lines, each
ending in a newline::

    demo.yaritori.invalid/audit-log                 <- origin: names the log, non-empty
    4                                               <- tree size: decimal, no leading zeros
    037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=    <- root hash: base64 of 32 bytes
    (optional extension lines, each non-empty)

(That root is the one of the first four classic RFC 6962 test leaves.)

Parsing is strict so that one checkpoint has exactly one spelling: "04" or "+4" is not a size,
a root must be the canonical base64 of exactly 32 bytes, and no line may be empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._text import MAX_UINT64, b64decode_strict, b64encode, has_control_character, parse_decimal
from .errors import CheckpointError
from .hashing import HASH_SIZE

__all__ = ["Checkpoint", "CheckpointError", "parse_checkpoint"]


def _check_line(what: str, line: str) -> None:
    if not line:
        raise CheckpointError(f"checkpoint {what} is empty")
    if "\n" in line:
        raise CheckpointError(f"checkpoint {what} contains a newline")
    if has_control_character(line):
        raise CheckpointError(
            f"checkpoint {what} contains a control character "
            "(a file saved with Windows line endings has a carriage return on every line)"
        )


@dataclass(frozen=True)
class Checkpoint:
    """A log's signed statement of its size and root hash (the note text, not the signatures).

    Creating one validates it and raises CheckpointError when a field could not be written as
    a valid checkpoint: empty origin, size outside 0 .. 2**64-1, root not 32 bytes, an empty or
    multi-line extension line, or a control character anywhere.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line("origin", self.origin)
        if not 0 <= self.size <= MAX_UINT64:
            raise CheckpointError(f"checkpoint size {self.size} is out of range")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(
                f"checkpoint root hash is {len(self.root_hash)} bytes long, expected {HASH_SIZE}"
            )
        # Accept any sequence but store a tuple, so that the dataclass stays hashable.
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for line in self.extensions:
            _check_line("extension line", line)

    def to_text(self) -> str:
        """The checkpoint body: origin, size, base64 root and extension lines, each + newline."""
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body (the text of the signed note, without signatures).

        Raises CheckpointError unless text is exactly what to_text() would produce for some
        valid checkpoint.
        """
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint needs origin, size and root hash lines")
        origin, size_text, root_text, *extensions = lines
        _check_line("origin", origin)
        size = parse_decimal(size_text)
        if size is None:
            raise CheckpointError(
                f"checkpoint size {size_text[:30]!r} is not a decimal without leading zeros"
            )
        root_hash = b64decode_strict(root_text)
        if root_hash is None:
            raise CheckpointError("checkpoint root hash is not canonical base64")
        return cls(origin, size, root_hash, tuple(extensions))


def parse_checkpoint(text: str) -> Checkpoint:
    """Same as Checkpoint.parse(text)."""
    return Checkpoint.parse(text)
