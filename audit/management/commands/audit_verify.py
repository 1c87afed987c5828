"""Stream the log, recompute chain and tree, check every signed checkpoint."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.management.commands._files import read_text_option
from audit.tlog.errors import TlogError
from audit.verification import verify_log


class Command(BaseCommand):
    help = (
        "Verify the audit log: recompute the hash chain and the Merkle tree from every entry, "
        "check each stored checkpoint's signature and root, and optionally a checkpoint saved "
        "earlier (catches a truncated tail). Exits 1 naming the first bad sequence number and "
        "the kind of damage, or two signed roots that fork (docs/verify.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from",
            dest="first",
            type=int,
            default=0,
            help="start at this sequence number (trusting what precedes it)",
        )
        parser.add_argument(
            "--jobs", type=int, default=1, help="verify ranges in this many processes (PostgreSQL)"
        )
        parser.add_argument(
            "--checkpoint", type=Path, help="a signed checkpoint saved earlier (C2SP note text)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["first"] < 0:
            raise CommandError("--from must be 0 or more")
        if options["jobs"] < 1:
            raise CommandError("--jobs must be 1 or more")
        saved = read_text_option(options["checkpoint"])
        started = time.perf_counter()
        try:
            report = verify_log(
                first_seq=options["first"], saved_checkpoint=saved, jobs=options["jobs"]
            )
        except TlogError as exc:
            raise CommandError(f"FAILED: {exc}") from None
        elapsed = time.perf_counter() - started
        if report.damage is not None:
            raise CommandError(f"FAILED: {report.damage}")
        count = report.size - report.first_seq
        rate = count / elapsed if elapsed > 0 else 0.0
        self.stdout.write(
            f"OK: entries {report.first_seq}..{report.size - 1} verified, "
            f"{report.checkpoints_checked} checkpoints checked ({count} entries in "
            f"{elapsed:.2f} s, {rate:,.0f}/s)"
        )
