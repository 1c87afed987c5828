"""Run the ledger's sequencer: integrate committed entries and sign checkpoints, forever."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.ledger import IntegrationResult
from audit.sequencer import sequencer_loop


class Command(BaseCommand):
    help = (
        "Integrate committed intake rows into the chain and the tree and sign a checkpoint, "
        "every --interval seconds (at once while there is a backlog). Ctrl-C or SIGTERM stops "
        "it after the current batch. --once integrates what is pending and exits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=0.2)
        parser.add_argument("--batch", type=int, default=10_000)
        parser.add_argument("--once", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["interval"] <= 0 or options["batch"] < 1:
            raise CommandError("--interval and --batch must be positive")
        stopping = False

        def on_signal(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

        def stop(result: IntegrationResult | None) -> bool:
            if stopping:
                return True
            return options["once"] and result is not None and result.integrated < options["batch"]

        sequencer_loop(interval=options["interval"], batch=options["batch"], stop=stop)
