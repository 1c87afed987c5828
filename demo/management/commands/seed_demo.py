"""Load the demo world: institutions, the permitted table, residents, staff, cases (see
demo.world). Deterministic for a seed; running it again changes nothing."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from agencies.models import Organization
from audit.ledger import ledger_integrate
from demo import world as demo
from demo.cards import demo_cards_issue
from demo.logins import DEMO_PASSWORD, write_api_keys
from demo.officers import privacy_officers_create
from demo.traffic import traffic_generate


class Command(BaseCommand):
    help = (
        "Create the demo world (organisations, affairs, permitted table, residents with "
        "households, 符号, 副本, staff, cases, consents, agency systems) in one transaction. "
        "Does nothing when the demo world is already present."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed",
            type=int,
            default=0,
            help="random seed; the same seed gives the same world (default 0)",
        )
        parser.add_argument(
            "--residents",
            type=int,
            default=2000,
            help=f"number of residents, {demo.MIN_RESIDENTS}..{demo.MAX_RESIDENTS} (default 2000)",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="load only when the database holds no organisation at all",
        )
        parser.add_argument(
            "--api-keys-file",
            type=Path,
            default=None,
            help="where to write the agency API keys (default VAR_DIR/demo_api_keys.txt)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
        parser.add_argument(
            "--traffic",
            type=int,
            default=0,
            metavar="DAYS",
            help="then send DAYS days of linkage traffic (ending today) through the network "
            "service, with injected misuse listed in --labels",
        )
        parser.add_argument(
            "--labels",
            type=Path,
            default=None,
            help="where to write the injected misuse labels (default VAR_DIR/labels.jsonl)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            demo.validate_arguments(seed=options["seed"], residents=options["residents"])
        except demo.DemoArgumentError as exc:
            raise CommandError(str(exc)) from None
        if not 0 <= options["traffic"] <= 366:
            raise CommandError("--traffic takes a number of days from 1 to 366")
        loaded = self._load(options)
        # With --if-empty (make run) traffic comes only with a new world, never twice.
        if options["traffic"] and (loaded or not options["if_empty"]):
            self._traffic(options)
        if loaded or not options["if_empty"]:
            issued = demo_cards_issue()
            if issued:
                # Card and proxy entries join the tree now, like the traffic's.
                while ledger_integrate(max_batch=20_000).integrated:
                    pass
                self.stdout.write(f"resident cards: {issued} issued at the counter (demo PINs)")

    def _traffic(self, options: dict[str, Any]) -> None:
        labels: Path = options["labels"] or Path(settings.VAR_DIR) / "labels.jsonl"
        started = time.monotonic()
        report = traffic_generate(
            days=options["traffic"],
            seed=options["seed"],
            end=timezone.localdate(),
            labels_path=labels,
        )
        integrated = 0
        while result := ledger_integrate(max_batch=20_000):  # make the traffic tamper-evident now
            if not result.integrated:
                break
            integrated += result.integrated
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items()))
        self.stdout.write(
            f"traffic: {report.requests} requests over {options['traffic']} days in "
            f"{time.monotonic() - started:.1f} s ({outcomes}; {report.internal} of them 庁内連携 "
            f"within one institution); {len(report.labels)} injected "
            f"misuse requests of {len(report.injected)} kinds labelled in {labels}; "
            f"{integrated} ledger entries integrated and signed"
        )

    def _load(self, options: dict[str, Any]) -> bool:
        """Load the world unless it is there; True when this call loaded it."""
        if options["if_empty"] and Organization.objects.exists():
            self.stdout.write("database already holds organisations; demo world not loaded")
            return False
        started = time.monotonic()
        world = demo.demo_world_load(
            seed=options["seed"],
            residents=options["residents"],
            progress=not options["no_progress"],
            progress_file=sys.stderr,
        )
        if world is None:
            self.stdout.write("demo world already present; nothing changed")
            return False
        privacy_officers_create()  # who receives detection's mails (var/mail under make run)
        keys_path: Path = options["api_keys_file"] or Path(settings.VAR_DIR) / "demo_api_keys.txt"
        write_api_keys(keys_path, world.api_keys, world.operator_credentials)
        self._report(world, keys_path, time.monotonic() - started)
        return True

    def _report(self, world: demo.DemoWorld, keys_path: Path, seconds: float) -> None:
        out = self.stdout
        out.write(
            self.style.SUCCESS(
                f"demo world loaded (seed {world.seed}, {world.residents} residents) "
                f"in {seconds:.1f} s"
            )
        )
        for name, count in world.counts.items():
            out.write(f"  {name:<20} {count}")
        out.write(
            f"agency API keys ({len(world.api_keys)}) written to {keys_path} "
            "(shown nowhere else; only their hashes are stored)"
        )
        out.write(f"demo logins (password for all: {DEMO_PASSWORD}):")
        for username, what in world.logins:
            out.write(f"  {username:<26} {what}")
        out.write("every staff member (agencies.StaffMember) uses the same password")
