"""manage.py bench append|verify|proof|linkage|portal|scan|detect-delay|dashboard: the
benchmarks, in a scratch database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from bench import ledger as bench


class Command(BaseCommand):
    help = (
        "Benchmarks, run in a scratch database '<name>_bench' (dropped afterwards unless "
        "--keep). append: N entries by --writers processes with the sequencer running, against "
        "a plain INSERT of the same rows, and the integration delay. proof: inclusion and "
        "consistency proof times and database reads at --sizes. verify: audit_verify's rate "
        "over --size entries. portal: the resident's list, record page and a new request's "
        "delay, for a resident with --records entries in a log of --size. scan: the detection "
        "scanner over --entries request entries of a demo world of --residents with --cases "
        "cases, against a plain read of the same entries. detect-delay: entry-to-alert delay "
        "with the sequencer and a worker running. dashboard: the auditors' entry searches "
        "(sequence number, request id, subject, case) as a national auditor and a privacy "
        "officer, on a log of --size. Figures are for docs/benchmarks.md; never a test."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "target",
            choices=[
                "append",
                "verify",
                "proof",
                "linkage",
                "portal",
                "scan",
                "detect-delay",
                "dashboard",
            ],
        )
        parser.add_argument(
            "--records",
            type=int,
            default=1000,
            help="portal, dashboard: the resident's records in the log",
        )
        parser.add_argument("--seconds", type=float, default=15.0, help="linkage: per phase")
        parser.add_argument("--clients", type=int, default=16, help="linkage: requests in flight")
        parser.add_argument("--rate", type=float, default=250.0, help="linkage: fixed rate")
        parser.add_argument(
            "--runs", type=int, default=1, help="linkage: runs against one server, with medians"
        )
        parser.add_argument(
            "--wsgi",
            action="store_true",
            help="linkage: call the WSGI application in this process instead (no gunicorn, no "
            "HTTP): a worker's own CPU per request",
        )
        parser.add_argument(
            "--requests", type=int, default=3000, help="linkage --wsgi: requests to send"
        )
        parser.add_argument("--writers", type=int, default=16)
        parser.add_argument(
            "--entries", type=int, default=None, help="append: 20,000; scan: 1,000,000"
        )
        parser.add_argument("--residents", type=int, default=20_000, help="scan: demo world")
        parser.add_argument("--cases", type=int, default=50_000, help="scan: a year of cases")
        parser.add_argument(
            "--batch", type=int, default=20_000, help="scan: entries per transaction"
        )
        parser.add_argument(
            "--every", type=int, default=10, help="detect-delay: one request in N unexplained"
        )
        parser.add_argument(
            "--sizes", default="10000,1000000", help="comma-separated log sizes for proof"
        )
        parser.add_argument("--size", type=int, default=1_000_000, help="log size for verify")
        parser.add_argument("--samples", type=int, default=500)
        parser.add_argument("--jobs", type=int, default=2)
        parser.add_argument("--repeat", type=int, default=3, help="verify runs")
        parser.add_argument("--rounds", type=int, default=3, help="append rounds")
        parser.add_argument(
            "--keep", action="store_true", help="keep (and reuse) the scratch database"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        target = options["target"]
        if options["entries"] is None:
            options["entries"] = 1_000_000 if target == "scan" else 20_000
        for name in (
            "writers",
            "entries",
            "residents",
            "cases",
            "batch",
            "every",
            "size",
            "samples",
            "jobs",
            "repeat",
            "rounds",
            "requests",
            "runs",
        ):
            if options[name] < 1:
                raise CommandError(f"--{name} must be a positive number")
        try:
            sizes = sorted({int(s) for s in options["sizes"].split(",") if s.strip()})
        except ValueError:
            raise CommandError("--sizes must be comma-separated whole numbers") from None
        if not sizes or sizes[0] < 2:
            raise CommandError("--sizes must name sizes of 2 or more")
        if connection.vendor != "postgresql":
            self.stderr.write(
                "note: the targets are stated for PostgreSQL: `make services` starts one on "
                "127.0.0.1:5432, then set DATABASE_URL=postgres://postgres@127.0.0.1:5432/yaritori"
            )

        def say(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        teardown = bench.scratch_database(keep=options["keep"])
        try:
            if target == "detect-delay":
                from bench.delay import bench_detect_delay

                bench_detect_delay(
                    seconds=options["seconds"],
                    rate=options["rate"],
                    every=options["every"],
                    say=say,
                )
            elif target == "scan":
                from bench.scan import bench_scan

                bench_scan(
                    entries=options["entries"],
                    residents=options["residents"],
                    cases=options["cases"],
                    batch=options["batch"],
                    repeat=options["repeat"],
                    say=say,
                )
            elif target == "append":
                bench.bench_append(
                    writers=options["writers"],
                    entries=options["entries"],
                    rounds=options["rounds"],
                    say=say,
                )
            elif target == "linkage" and options["wsgi"]:
                from bench.linkage import bench_linkage_wsgi

                bench_linkage_wsgi(requests=options["requests"], say=say)
            elif target == "linkage":
                from bench.linkage import bench_linkage

                bench_linkage(
                    seconds=options["seconds"],
                    clients=options["clients"],
                    rate=options["rate"],
                    say=say,
                    runs=options["runs"],
                )
            elif target == "portal":
                from bench.portal import bench_portal

                bench_portal(
                    size=options["size"],
                    records=options["records"],
                    samples=options["samples"],
                    say=say,
                )
            elif target == "dashboard":
                from bench.dashboard import bench_dashboard

                bench_dashboard(
                    size=options["size"],
                    records=options["records"],
                    samples=options["samples"],
                    say=say,
                )
            elif target == "proof":
                for size in sizes:
                    bench.build_log(size=size, say=say)
                    bench.bench_proofs(size=size, samples=options["samples"], say=say)
            else:
                bench.build_log(size=options["size"], say=say)
                bench.bench_verify(jobs=options["jobs"], repeat=options["repeat"], say=say)
        finally:
            teardown()
