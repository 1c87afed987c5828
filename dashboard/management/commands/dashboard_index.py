"""Bring the auditors' search index up to the log, or rebuild it from entry 0."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from dashboard.indexer import index_all, index_rebuild, indexed_up_to


class Command(BaseCommand):
    help = (
        "Index the ledger's sequenced entries for the auditors' dashboard (a read model; the "
        "beat task dashboard.index_entries keeps it current). --rebuild empties it first; the "
        "ledger itself is never touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="empty the index first")
        parser.add_argument("--batch", type=int, default=20_000)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rebuild"]:
            index_rebuild()
        started = time.perf_counter()
        total = sum(index_all(max_batch=max(1, options["batch"])))
        elapsed = time.perf_counter() - started
        last = indexed_up_to()
        self.stdout.write(
            f"indexed {total} entries in {elapsed:.1f} s; the index reaches entry "
            f"{'none' if last is None else last}"
        )
