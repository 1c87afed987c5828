"""The ledger: append an entry inside the caller's transaction, integrate entries into the
hash chain and the Merkle tree, sign checkpoints, and serve proofs from stored subtrees.

Appending is a single INSERT into LedgerIntake, so any number of writers can append at once
without waiting for each other. ledger_integrate() (the sequencer) then gives committed intake
rows their sequence numbers in one transaction of its own; on PostgreSQL it only takes rows
whose writing transaction precedes every transaction still running, so a slow writer can never
be skipped and the chain never forks or gaps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.entries import leaf_bytes, lookup_key
from audit.models import Checkpoint, LedgerEntry, LedgerIntake, MerkleSubtree, subtree_last_seq
from audit.tlog.checkpoint import Checkpoint as CheckpointBody
from audit.tlog.hashing import leaf_hash
from audit.tlog.merkle import (
    MerkleFrontier,
    Range,
    aligned_subtrees,
    consistency_proof_ranges,
    inclusion_proof_ranges,
    perfect_pieces,
    range_hash_from_perfect,
    subtree_coordinates,
    verify_consistency,
)
from audit.tlog.note import (
    Signer,
    Verifier,
    add_signature_lines,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
)
from audit.tlog.receipt import Receipt
from core.db import fetch_one, insert_rows

# Any constant will do; it only has to be the same for every sequencer of this database.
_SEQUENCER_LOCK_KEY = 0x5941524954  # "YARIT"


class LedgerError(Exception):
    """The ledger refused to do something that would break its promises."""


class EntryExpired(LedgerError):
    """The entry is past the retention period: it stays in the tree but is served to nobody."""


def retention_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """Entries recorded before this instant are past retention (AUDIT_RETENTION_DAYS)."""
    return (now or timezone.now()) - dt.timedelta(days=settings.AUDIT_RETENTION_DAYS)


def chain_genesis(origin: str) -> bytes:
    """The chain value before entry 0, bound to the log's origin."""
    return hashlib.sha256(b"yaritori/chain/v1\n" + origin.encode()).digest()


def chain_next(previous: bytes, entry_leaf_hash: bytes) -> bytes:
    """chain[n] = SHA-256(chain[n-1] || leaf_hash[n])."""
    return hashlib.sha256(previous + entry_leaf_hash).digest()


@cache
def _signer(key_text: str) -> Signer:
    return parse_signer_key(key_text)


def log_signer() -> Signer:
    """The log's checkpoint signer, from settings.AUDIT_LOG_SIGNING_KEY."""
    return _signer(settings.AUDIT_LOG_SIGNING_KEY)


def log_verifier() -> Verifier:
    """The log's public verifier key (what residents and auditors pin)."""
    return log_signer().verifier()


@cache
def _verifiers(current: str, previous: tuple[str, ...]) -> tuple[Verifier, ...]:
    keys = [_signer(current).verifier()]
    for text in previous:
        verifier = parse_verifier_key(text)
        if all((v.name, v.key_id) != (verifier.name, verifier.key_id) for v in keys):
            keys.append(verifier)
    return tuple(keys)


def log_verifiers() -> tuple[Verifier, ...]:
    """Every key the log's checkpoints may be signed by: the current signing key's verifier
    first, then those of earlier keys (settings.AUDIT_LOG_PREVIOUS_VERIFIER_KEYS), so that a
    log whose key was rotated still verifies from its first checkpoint."""
    return _verifiers(
        settings.AUDIT_LOG_SIGNING_KEY, tuple(settings.AUDIT_LOG_PREVIOUS_VERIFIER_KEYS)
    )


# --------------------------------------------------------------------------------------------
# Appending
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppendedEntry:
    """What ledger_append wrote: the intake row's id and the exact leaf (canonical JSON)."""

    intake_id: int
    leaf: str


@dataclass(frozen=True, slots=True)
class PreparedEntry:
    """An entry checked and serialised, ready to be written: its leaf, and the values of the
    intake row that carries it, in the order of INTAKE_COLUMNS."""

    leaf: str
    values: tuple[Any, ...]


INTAKE_COLUMNS = ("leaf", "event_type", "subject", "lookup_key", "created_at")
_INTAKE_TABLE = "audit_ledgerintake"
_PLACEHOLDERS = ", ".join(["%s"] * len(INTAKE_COLUMNS))
_INTAKE_INSERT = (
    f"INSERT INTO {_INTAKE_TABLE} ({', '.join(INTAKE_COLUMNS)}) "  # noqa: S608 - constants
    f"VALUES ({_PLACEHOLDERS}) RETURNING id"
)


def entry_prepare(
    *,
    event_type: str,
    fields: Mapping[str, object],
    subject: str = "",
    moment: dt.datetime | None = None,
) -> PreparedEntry:
    """Check an entry against its event type's schema and serialise it (leaf_bytes); raises
    EntryFieldError for a field that may not be logged. Nothing is written."""
    moment = moment or timezone.now()
    leaf = leaf_bytes(event_type, fields, moment, subject).decode("ascii")
    key = lookup_key(event_type, fields)
    # The time is stored exactly as the ORM stores datetimes on this backend.
    created_at = connection.ops.adapt_datetimefield_value(moment)
    return PreparedEntry(leaf, (leaf, event_type, subject, key, created_at))


def entry_insert_from(source: str) -> str:
    """The INSERT of a prepared entry's intake row that writes it once for each row of
    `source` (a table or a CTE name of the caller's statement), without RETURNING.

    For a writer that stores its own row and the entry in one atomic statement: a
    data-modifying `WITH written AS (INSERT ...)` followed by this, FROM written, writes the
    entry exactly when the row was written. The parameters are the entry's values.
    """
    return (
        f"INSERT INTO {_INTAKE_TABLE} ({', '.join(INTAKE_COLUMNS)}) "  # noqa: S608 - constants
        f"SELECT {_PLACEHOLDERS} FROM {source}"
    )


def entry_write(entry: PreparedEntry) -> AppendedEntry:
    """Write a prepared entry's intake row in the caller's transaction (or in autocommit,
    where one statement is atomic on its own)."""
    # One INSERT, nothing else: this runs once per linkage request, from many writers at once.
    row = fetch_one(_INTAKE_INSERT, list(entry.values))
    assert row is not None  # INSERT ... RETURNING always returns the row
    return AppendedEntry(intake_id=row[0], leaf=entry.leaf)


def ledger_append(
    *,
    event_type: str,
    fields: Mapping[str, object],
    subject: str = "",
    moment: dt.datetime | None = None,
) -> AppendedEntry:
    """Append one entry in the caller's transaction (or a transaction of its own).

    The entry is durable when that transaction commits and becomes part of the chain and the
    tree when the sequencer integrates it. Raises EntryFieldError for a field that may not be
    logged; a database error propagates, so the caller's transaction fails with it.
    """
    return entry_write(
        entry_prepare(event_type=event_type, fields=fields, subject=subject, moment=moment)
    )


def intake_for_key(key: str) -> LedgerIntake | None:
    """The first entry appended under this lookup key (e.g. a request id), found in one
    indexed lookup, with its sequenced entry if the sequencer has integrated it."""
    if not key:
        return None
    return (
        LedgerIntake.objects.filter(lookup_key=key).select_related("entry").order_by("id").first()
    )


# --------------------------------------------------------------------------------------------
# Integrating (the sequencer)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntegrationResult:
    """What one ledger_integrate() call did."""

    integrated: int
    size: int
    checkpoint: Checkpoint | None


def _head() -> LedgerEntry | None:
    return LedgerEntry.objects.select_related("intake").order_by("-seq").first()


def subtree_hashes(pieces: Iterable[Range]) -> dict[Range, bytes]:
    """Fetch the stored hashes of perfect subtrees, in one query.

    A subtree of one leaf is that entry's leaf hash (LedgerEntry); larger ones are
    MerkleSubtree rows.
    """
    leaves: dict[int, Range] = {}
    wanted: dict[tuple[int, int], Range] = {}
    for start, end in pieces:
        level, index = subtree_coordinates(start, end)
        if level == 0:
            leaves[start] = (start, end)
        else:
            wanted[(subtree_last_seq(level, index), level)] = (start, end)
    if not wanted and not leaves:
        return {}
    # Raw SQL: building this many Q objects cost more than the query itself, and a proof is
    # served on every receipt. Row-value IN works on PostgreSQL and SQLite alike. Only
    # placeholders are formatted into the text; every value is a parameter.
    parts, params = [], []
    if wanted:
        parts.append(
            "SELECT last_seq, level, hash FROM audit_merklesubtree "  # noqa: S608
            f"WHERE (last_seq, level) IN ({', '.join(['(%s, %s)'] * len(wanted))})"
        )
        params += [value for key in wanted for value in key]
    if leaves:
        parts.append(
            "SELECT seq, 0, leaf_hash FROM audit_ledgerentry "  # noqa: S608
            f"WHERE seq IN ({', '.join(['%s'] * len(leaves))})"
        )
        params += list(leaves)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        found = {
            (leaves[last_seq] if level == 0 else wanted[(last_seq, level)]): bytes(h)
            for last_seq, level, h in cursor.fetchall()
        }
    wanted_count = len(wanted) + len(leaves)
    if len(found) != wanted_count:
        missing = sorted((set(wanted.values()) | set(leaves.values())) - set(found))
        raise LedgerError(f"stored subtrees missing for ranges {missing[:4]}")
    return found


# The horizon: the smallest transaction id still running in this database (other backends than
# this one), as a 64-bit xid8; with none running, one past the newest id (this transaction's
# own included). Every writing transaction of this database below the horizon has committed or
# aborted, so none of its intake rows can still appear: taking rows below the horizon never
# skips a slow writer. Only this database counts (pg_stat_activity), so a long transaction
# elsewhere in the cluster does not hold the sequencer back, and only client backends, which
# alone write intake rows: an autovacuum worker's ANALYZE takes a transaction id too, and
# counting it held back every writer's rows for as long as it ran (seconds on a large table).
# backend_xid is 32 bits; it is widened to 64 against the snapshot's xmax, allowing for ids on
# either side of it.
_HORIZON_SQL = """
WITH s AS (SELECT pg_stat_clear_snapshot(),
                  pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS nx,
                  pg_current_xact_id_if_assigned()::text::bigint AS own)
SELECT COALESCE(
    MIN(s.nx + ((a.backend_xid::text::bigint - s.nx % 4294967296 + 6442450944) % 4294967296)
        - 2147483648),
    GREATEST(MAX(s.nx), MAX(s.own) + 1))
FROM s LEFT JOIN pg_stat_activity a
  ON a.datname = current_database() AND a.backend_xid IS NOT NULL
 AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
"""


# The row-value comparison, not "txid > t OR (txid = t AND id > i)": PostgreSQL turns only the
# former into a start position in the (txid, id) index; the latter scans every integrated row
# before the first pending one, a cost that grew with the log (420 ms a pass at 660,000).
_PENDING_SQL = (
    "SELECT id, leaf FROM audit_ledgerintake WHERE (txid, id) > (%s, %s) AND txid < %s "
    "ORDER BY txid, id LIMIT %s"
)


def _pending_intake(head: LedgerEntry | None, limit: int) -> list[tuple[int, str]]:
    after = (-1, -1) if head is None else (head.intake.txid, head.intake.id)
    with connection.cursor() as cursor:
        horizon = 2**63 - 1  # SQLite: writers are serialised, every committed row is final
        if connection.vendor == "postgresql":
            cursor.execute(_HORIZON_SQL)
            (horizon,) = cursor.fetchone()
        # Plain tuples: building model instances cost a third of the sequencer's time.
        cursor.execute(_PENDING_SQL, [*after, horizon, limit])
        return [(intake_id, leaf) for intake_id, leaf in cursor.fetchall()]


def ledger_integrate(*, max_batch: int = 5000) -> IntegrationResult:
    """Sequence committed intake rows and sign a checkpoint over the new tree, atomically.

    Only one sequencer works at a time (an advisory lock on PostgreSQL; SQLite serialises
    writers). The new checkpoint is signed only after a consistency proof from the previous
    checkpoint, built from the stored subtrees, verifies: the log never signs a checkpoint
    inconsistent with its previous one.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEQUENCER_LOCK_KEY])
        head = _head()
        size = 0 if head is None else head.seq + 1
        pending = _pending_intake(head, max_batch)
        if not pending:
            if size == 0 and not Checkpoint.objects.exists():
                return IntegrationResult(0, 0, _sign_checkpoint(0, MerkleFrontier().root()))
            return IntegrationResult(0, size, None)

        frontier_ranges = aligned_subtrees(0, size)
        stored = subtree_hashes(frontier_ranges)
        frontier = MerkleFrontier(size, [stored[r] for r in frontier_ranges])
        chain = chain_genesis(settings.AUDIT_LOG_ORIGIN) if head is None else bytes(head.chain_hash)
        now = timezone.now()
        entries: list[tuple[int, int, bytes, bytes, dt.datetime]] = []
        subtrees: list[tuple[int, int, bytes]] = []
        for offset, (intake_id, leaf) in enumerate(pending):
            seq = size + offset
            hashed = leaf_hash(leaf.encode("utf-8"))
            chain = chain_next(chain, hashed)
            entries.append((seq, intake_id, hashed, chain, now))
            # Level 0 is the leaf hash itself, already in the entry row: not stored twice.
            subtrees.extend((seq, c.level, c.hash) for c in frontier.append(hashed) if c.level)
        insert_rows(
            LedgerEntry,
            ("seq", "intake_id", "leaf_hash", "chain_hash", "integrated_at"),
            entries,
        )
        insert_rows(MerkleSubtree, ("last_seq", "level", "hash"), subtrees)
        new_size = frontier.size
        checkpoint = _sign_checkpoint(new_size, frontier.root())
        return IntegrationResult(len(entries), new_size, checkpoint)


def _sign_checkpoint(size: int, root: bytes) -> Checkpoint:
    previous = Checkpoint.objects.order_by("-size").first()
    if previous is not None:
        if previous.size >= size:
            raise LedgerError(f"refusing to sign size {size}: size {previous.size} is signed")
        if previous.size > 0:
            proof = consistency_proof_between(previous.size, size)
            # Raises ProofError if the stored tree does not extend what was signed before.
            verify_consistency(previous.size, size, bytes(previous.root_hash), root, proof)
    body = CheckpointBody(settings.AUDIT_LOG_ORIGIN, size, root).to_text()
    note = sign_note(body, [log_signer()])
    return Checkpoint.objects.create(size=size, root_hash=root, note=note, signed_at=timezone.now())


# --------------------------------------------------------------------------------------------
# Proofs
# --------------------------------------------------------------------------------------------


def _proof_from_store(ranges: list[Range]) -> list[bytes]:
    stored = subtree_hashes(perfect_pieces(ranges))
    return [range_hash_from_perfect(s, e, lambda a, b: stored[(a, b)]) for s, e in ranges]


def inclusion_proof_for(seq: int, size: int) -> list[bytes]:
    """Inclusion proof of entry seq in the tree of `size` leaves, from one query."""
    return _proof_from_store(inclusion_proof_ranges(seq, size))


def consistency_proof_between(old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof from the tree of old_size leaves to new_size, from one query."""
    return _proof_from_store(consistency_proof_ranges(old_size, new_size))


def latest_checkpoint() -> Checkpoint | None:
    """The most recent signed checkpoint."""
    return Checkpoint.objects.order_by("-size").first()


def cosigned_note(checkpoint: Checkpoint) -> str:
    """The checkpoint's signed note with every stored witness cosignature appended."""
    lines = list(checkpoint.cosignatures.order_by("witness").values_list("line", flat=True))
    return add_signature_lines(checkpoint.note, lines) if lines else checkpoint.note


def receipt_for(seq: int) -> str:
    """A C2SP tlog-proof receipt for entry seq under the latest checkpoint, leaf included."""
    entry = LedgerEntry.objects.select_related("intake").get(seq=seq)
    if entry.intake.created_at < retention_cutoff():
        raise EntryExpired(f"entry {seq} is past the retention period")
    checkpoint = latest_checkpoint()
    if checkpoint is None or checkpoint.size <= seq:
        raise LedgerError(f"entry {seq} is not covered by a signed checkpoint yet")
    proof = inclusion_proof_for(seq, checkpoint.size)
    return Receipt(
        seq, tuple(proof), cosigned_note(checkpoint), entry.intake.leaf.encode("utf-8")
    ).to_text()
