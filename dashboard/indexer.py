"""The search index of the ledger (IndexedEntry, EntryOrganization): a read model, built in
sequence order from the sequenced entries' leaves, so that auditors can filter, count and
export entries of a log of millions without reading every leaf.

It is not the ledger and proves nothing: the ledger's own rows are what audit_verify checks,
and every page about one entry reads that entry's leaf again (dashboard.facts). The index may
lag the log by a few seconds (the dashboard.index_entries task runs on beat) and can be thrown
away and rebuilt at any time (manage.py dashboard_index --rebuild).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction

from audit.models import LedgerEntry
from core.db import insert_rows
from dashboard.facts import organizations_of
from dashboard.models import EntryOrganization, IndexedEntry

# Any constant: only one indexer may write at a time (PostgreSQL; SQLite serialises writers).
_INDEXER_LOCK_KEY = 0x5941524944  # "YARID"

# Leaf fields copied into columns of the same name, with the column's length.
_COLUMNS: dict[str, int] = {
    "requester": 16,
    "provider": 16,
    "institution": 16,
    "organization": 6,
    "affair": 16,
    "from_affair": 16,
    "item": 16,
    "staff": 18,
    "actor": 18,
    "case": 40,
    "outcome": 24,
    "reason": 48,
    "request_id": 36,
}
ENTRY_COLUMNS = (
    "seq",
    "intake_id",
    "event_type",
    "time",
    "subject",
    *_COLUMNS,
    "nondisclosure",
)
ORGANIZATION_COLUMNS = ("organization", "entry")


def indexed_up_to() -> int | None:
    """The highest sequence number in the index, or None when it is empty."""
    return IndexedEntry.objects.order_by("-seq").values_list("seq", flat=True).first()


def _row(seq: int, intake_id: int, leaf: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # json.loads rather than audit.entries.parse_leaf: the leaf's bytes are the ledger's and
    # are checked there; the index only needs the values, and must not stop at an event type
    # this process has not registered (a later app's).
    document: dict[str, Any] = json.loads(leaf)
    values: list[Any] = [
        seq,
        intake_id,
        str(document.get("type", ""))[:40],
        dt.datetime.fromisoformat(str(document["time"])),
        str(document.get("subject", ""))[:26],
    ]
    for name, length in _COLUMNS.items():
        value = document.get(name, "")
        values.append(value[:length] if isinstance(value, str) else "")
    marker = document.get("nondisclosure")
    values.append(marker if isinstance(marker, bool) else None)
    return tuple(values), document


def index_pending(*, max_batch: int = 20_000) -> int:
    """Index the next sequenced entries not yet in the index (at most max_batch), in one
    transaction; returns how many. Safe to run from several processes at once: they take
    turns, and an entry is indexed exactly once."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_INDEXER_LOCK_KEY])
        last = indexed_up_to()
        batch = list(
            LedgerEntry.objects.filter(seq__gt=-1 if last is None else last)
            .order_by("seq")
            .values_list("seq", "intake_id", "intake__leaf")[:max_batch]
        )
        if not batch:
            return 0
        adapt = connection.ops.adapt_datetimefield_value
        sqlite = connection.vendor != "postgresql"
        entries: list[tuple[Any, ...]] = []
        organizations: list[tuple[str, int]] = []
        for seq, intake_id, leaf in batch:
            row, document = _row(seq, intake_id, leaf)
            if sqlite:  # COPY takes datetimes as they are; SQLite's INSERT wants its text
                row = (*row[:3], adapt(row[3]), *row[4:])
            entries.append(row)
            organizations.extend((code, seq) for code in sorted(organizations_of(document)))
        insert_rows(IndexedEntry, ENTRY_COLUMNS, entries)
        insert_rows(EntryOrganization, ORGANIZATION_COLUMNS, organizations)
        return len(batch)


def index_all(*, max_batch: int = 20_000) -> Iterator[int]:
    """Index until the index reaches the log's end, yielding each batch's count."""
    while indexed := index_pending(max_batch=max_batch):
        yield indexed


def index_rebuild() -> None:
    """Empty the index (the next index_pending starts again from entry 0). The ledger is not
    touched: the index holds nothing the ledger does not."""
    with transaction.atomic():
        EntryOrganization.objects.all().delete()
        IndexedEntry.objects.all().delete()
