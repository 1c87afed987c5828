"""Run the ledger's sequencer: integrate committed entries and sign checkpoints, forever."""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections

from audit.ledger import ledger_integrate

logger = logging.getLogger("audit.sequencer")


class Command(BaseCommand):
    help = (
        "Integrate committed intake rows into the chain and the tree and sign a checkpoint, "
        "polling every --interval seconds while idle. Ctrl-C or SIGTERM stops it after the "
        "current batch. --once integrates what is pending and exits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=0.1)
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument("--once", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["interval"] <= 0 or options["batch"] < 1:
            raise CommandError("--interval and --batch must be positive")
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            try:
                result = ledger_integrate(max_batch=options["batch"])
            except DatabaseError:
                # A dropped connection must not kill the sequencer: entries wait in intake.
                logger.exception("integration failed; retrying")
                close_old_connections()
                time.sleep(1)
                continue
            if result.integrated:
                logger.info("integrated %d entries; log size %d", result.integrated, result.size)
            if options["once"] and result.integrated < options["batch"]:
                return
            if result.integrated < options["batch"]:
                time.sleep(options["interval"])
