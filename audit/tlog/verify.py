"""Offline verifier for Yaritori's audit log: receipts and consistency between checkpoints.

It needs Python 3.11+ and the `cryptography` package, nothing else: no database, no network,
no Django. Run it from a directory that contains the `audit/tlog` folder (or anything that
makes `audit.tlog` importable)::

    python -m audit.tlog.verify receipt RECEIPT --vkey KEY [--leaf LEAF] [--origin ORIGIN]
                                                [--witness WKEY ...] [--quorum N]
    python -m audit.tlog.verify consistency OLD NEW PROOF [--vkey KEY ...]

receipt
    RECEIPT is a receipt file in the c2sp.org/tlog-proof@v1 text format (see receipt.py); a
    Yaritori receipt carries the entry's canonical JSON bytes in its "extra" line. --leaf names
    a file whose exact bytes are the entry (needed when the receipt has no extra line; when both
    exist they must be identical). Checks the log's signature on the checkpoint, then that the
    entry is included under the checkpoint's root. --witness adds a witness verifier key whose
    cosignature is required (--quorum N: only N of them).

consistency
    OLD and NEW are signed checkpoint notes of the same log; PROOF is a text file with one
    base64 hash per line (empty for equal sizes). Checks that NEW's tree extends OLD's tree
    without changing any earlier entry. With --vkey both checkpoints must also be signed by the
    log key; without it the signatures are not checked (and the output says so). Across a
    rotation of the log's key, give --vkey twice (the old key and the new one): each checkpoint
    must then be signed by one of them, and the output names which.

KEY and WKEY are verifier key texts ("name+keyid+base64") or paths of files holding one.

Exit status: 0 and one line "OK ..." when everything verified; 1 and one line
"FAILED: <reason>" when the evidence does not verify; 2 for usage errors (bad arguments, an
unreadable file, a malformed key).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ._text import b64decode_strict, b64encode
from .checkpoint import Checkpoint
from .cosignature import WitnessVerifier, parse_witness_verifier_key
from .errors import TlogError
from .hashing import HASH_SIZE
from .merkle import verify_consistency
from .note import Verifier, open_note, parse_note, parse_verifier_key
from .receipt import verify_receipt

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class _UsageError(Exception):
    """Bad input from the person running the tool, as opposed to evidence that fails."""


class _Failed(Exception):
    """The evidence does not verify; the message is the reason."""


def _read_bytes(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise _UsageError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from exc


def _read_text(path: str, what: str) -> str:
    data = _read_bytes(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Failed(f"{what} {path!r} is not UTF-8 text") from exc


def _key_text(value: str) -> str:
    # A key text never names an existing file, so a path is unambiguous.
    try:
        is_file = Path(value).is_file()
    except OSError:  # e.g. a name too long to be a path: then it is meant as a key text
        is_file = False
    if is_file:
        return _read_bytes(value, "key file").decode("utf-8", errors="replace").strip()
    return value.strip()


def _log_verifier(value: str) -> Verifier:
    try:
        return parse_verifier_key(_key_text(value))
    except TlogError as exc:
        raise _UsageError(f"--vkey: {exc}") from exc


def _witness_verifier(value: str) -> WitnessVerifier:
    try:
        return parse_witness_verifier_key(_key_text(value))
    except TlogError as exc:
        raise _UsageError(f"--witness: {exc}") from exc


def _run_receipt(args: argparse.Namespace) -> str:
    verifier = _log_verifier(args.vkey)
    witnesses = [_witness_verifier(w) for w in args.witness]
    if args.quorum is not None and not 0 <= args.quorum <= len(witnesses):
        raise _UsageError("--quorum must be between 0 and the number of --witness keys")
    receipt_text = _read_text(args.receipt, "receipt")
    leaf = _read_bytes(args.leaf, "leaf file") if args.leaf else None
    try:
        result = verify_receipt(
            receipt_text,
            leaf,
            verifier,
            origin=args.origin,
            witnesses=witnesses,
            quorum=args.quorum,
        )
    except TlogError as exc:
        reason = str(exc)
        if leaf is not None and leaf.endswith(b"\n"):
            # Editors like to add a final newline; canonical JSON never ends with one.
            reason += " (note: the leaf file ends with a newline, which is part of its bytes)"
        raise _Failed(reason) from exc
    cp = result.checkpoint
    line = (
        f"OK receipt: entry {result.index} (leaf hash {b64encode(result.leaf_hash)}) is in log "
        f"{cp.origin} at size {cp.size}, root {b64encode(cp.root_hash)}, signed by "
        f"{verifier.name}+{verifier.key_id.hex()}"
    )
    if result.cosignatures:
        line += ", cosigned by " + ", ".join(
            f"{c.name} at {c.timestamp}" for c in result.cosignatures
        )
    return line


def _read_checkpoint(
    path: str, what: str, verifiers: Sequence[Verifier]
) -> tuple[Checkpoint, str | None]:
    """The checkpoint, and the key (name+keyid) that signed it, or None when no key was given."""
    note = _read_text(path, what)
    try:
        # Without a key only the form of the note is checked; the caller is told so.
        if not verifiers:
            return Checkpoint.parse(parse_note(note).text), None
        opened = open_note(note, verifiers)
        signer = opened.signatures[0]
        return Checkpoint.parse(opened.text), f"{signer.name}+{signer.key_id.hex()}"
    except TlogError as exc:
        raise _Failed(f"{what} checkpoint: {exc}") from exc


def _read_proof(path: str) -> list[bytes]:
    proof: list[bytes] = []
    # Blank lines and surrounding white space are tolerated: this file is not signed and any
    # change to a hash itself still makes the proof fail.
    for number, raw in enumerate(_read_text(path, "proof").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        h = b64decode_strict(line)
        if h is None or len(h) != HASH_SIZE:
            raise _Failed(f"proof line {number} is not a base64 SHA-256 hash")
        proof.append(h)
    return proof


def _run_consistency(args: argparse.Namespace) -> str:
    verifiers = [_log_verifier(value) for value in args.vkey or []]
    old, old_signer = _read_checkpoint(args.old, "old", verifiers)
    new, new_signer = _read_checkpoint(args.new, "new", verifiers)
    proof = _read_proof(args.proof)
    if old.origin != new.origin:
        raise _Failed(f"the checkpoints are from different logs: {old.origin!r}, {new.origin!r}")
    try:
        verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
    except TlogError as exc:
        raise _Failed(str(exc)) from exc
    if not verifiers:
        signed = "signatures NOT checked (no --vkey)"
    elif old_signer == new_signer:
        signed = f"both signed by {new_signer}"
    else:  # across a rotation of the log's key
        signed = f"old signed by {old_signer}, new signed by {new_signer}"
    return (
        f"OK consistency: log {new.origin} at size {new.size} extends size {old.size} "
        f"without changing it; {signed}"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m audit.tlog.verify",
        description="Verify Yaritori audit-log receipts and checkpoint consistency offline.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    receipt = commands.add_parser("receipt", help="verify a receipt (.tlog-proof file)")
    receipt.add_argument("receipt", help="receipt file in the c2sp.org/tlog-proof@v1 format")
    receipt.add_argument("--vkey", required=True, help="log verifier key text, or a file with it")
    receipt.add_argument("--leaf", help="file with the entry's exact leaf bytes")
    receipt.add_argument("--origin", help="require the checkpoint to be for this log origin")
    receipt.add_argument(
        "--witness", action="append", default=[], help="witness verifier key (repeatable)"
    )
    receipt.add_argument("--quorum", type=int, help="how many --witness cosignatures are needed")
    receipt.set_defaults(run=_run_receipt)

    consistency = commands.add_parser("consistency", help="verify two checkpoints are consistent")
    consistency.add_argument("old", help="older signed checkpoint file")
    consistency.add_argument("new", help="newer signed checkpoint file")
    consistency.add_argument("proof", help="file with base64 proof hashes, one per line")
    consistency.add_argument(
        "--vkey",
        action="append",
        help="log verifier key text, or a file with it (repeatable: old and new key)",
    )
    consistency.set_defaults(run=_run_consistency)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the verifier with command-line arguments argv; return the exit status (0, 1 or 2)."""
    args = _parser().parse_args(argv)  # exits with status 2 on bad arguments
    try:
        print(args.run(args))
    except _UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except _Failed as exc:
        print(f"FAILED: {exc}")
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
