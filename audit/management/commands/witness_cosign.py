"""Witness the log's latest checkpoint (or a given one) and cosign it if it is consistent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.management.commands._files import read_text_option
from audit.tlog.errors import TlogError
from audit.tlog.note import parse_verifier_key
from audit.witnessing import witness_run


class Command(BaseCommand):
    help = (
        "Act as a witness: check the log's checkpoint against the last one this witness "
        "cosigned (signature, same origin, no rollback, no fork, consistency proof) and add a "
        "timestamped cosignature. Key and state live in --dir, apart from the log's database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir",
            type=Path,
            default=None,
            help="witness key and state folder (default WITNESS_DIR)",
        )
        parser.add_argument(
            "--checkpoint",
            type=Path,
            help="a signed checkpoint note to witness instead of the latest",
        )
        parser.add_argument("--log-key", help="the log's verifier key text (default: ours)")

    def handle(self, *args: Any, **options: Any) -> None:
        directory = options["dir"] or Path(settings.WITNESS_DIR)
        note = read_text_option(options["checkpoint"])
        verifier = None
        if options["log_key"]:
            try:
                verifier = parse_verifier_key(options["log_key"])
            except TlogError as exc:
                raise CommandError(f"bad --log-key: {exc}") from None
        try:
            outcome = witness_run(directory=directory, signed_note=note, verifier=verifier)
        except TlogError as exc:
            raise CommandError(f"REFUSED: {exc}") from None
        where = "stored with the checkpoint" if outcome.stored else "not stored (foreign)"
        self.stdout.write(f"cosigned size {outcome.size} ({where})\n{outcome.line}")
