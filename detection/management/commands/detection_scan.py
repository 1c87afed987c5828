"""manage.py detection_scan: run the incremental scanner now, until it has caught up."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from detection.scanner import DEFAULT_BATCH, scan_until_caught_up


class Command(BaseCommand):
    help = (
        "Scan the ledger from the detection watermark until caught up (what the beat task "
        "detection.scan does every few seconds), and print what was found."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch", type=int, default=DEFAULT_BATCH, help="entries per transaction"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        total_scanned = total_opened = total_linked = 0
        while True:
            result = scan_until_caught_up(max_seconds=3600, max_batch=options["batch"])
            total_scanned += result.scanned
            total_opened += result.alerts_opened
            total_linked += result.entries_linked
            if result.busy or result.scanned == 0 or result.scanned % options["batch"]:
                break
        self.stdout.write(
            f"scanned {total_scanned} entries in {time.monotonic() - started:.1f} s: "
            f"{total_opened} alerts opened, {total_linked} entries linked"
            + (" (another scanner holds the watermark)" if result.busy else "")
        )
