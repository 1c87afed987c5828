"""`manage.py bench detect-delay`: the delay from a request's ledger entry to its alert, with
the processes of a deployment running: the ledger sequencer, and a Celery worker with its
embedded beat (scans every DETECTION_SCAN_INTERVAL seconds) on the configured broker (the
filesystem transport by default, Redis with CELERY_BROKER_URL).

In the scratch database: the demo world, then requests through the network service at a
fixed rate for --seconds, by the demo's clerks about members of their open cases, one in
--every about someone no case explains (an explain.no_case finding); at night every request
is also an off-hours finding. The delay of an entry is from its time (the request's commit)
to the moment its alert link was written (AlertEntry.linked_at).
Figures are for docs/benchmarks.md; never a test.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from agencies.network.services import linkage_request_send
from bench.ledger import percentile
from demo.office import World
from detection.models import AlertEntry, ScanWatermark

Say = Callable[[str], None]
ROOT = Path(__file__).resolve().parent.parent


def _processes(env: dict[str, str], log_dir: Path) -> list[subprocess.Popen[bytes]]:
    python = sys.executable
    sequencer = subprocess.Popen(  # noqa: S603 - the project's own commands
        [python, "manage.py", "ledger_sequencer"],
        cwd=ROOT,
        env=env,
        stdout=(log_dir / "sequencer.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(  # noqa: S603
        [
            python,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-B",
            "--pool",
            "solo",
            "-l",
            "info",
            "-s",
            str(log_dir / "beat-schedule"),
        ],
        cwd=ROOT,
        env=env,
        stdout=(log_dir / "worker.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    return [sequencer, worker]


def bench_detect_delay(*, seconds: float, rate: float, every: int, say: Say) -> None:
    """Send requests at `rate` per second for `seconds`, with the sequencer and a worker
    running; report the entry-to-alert delay of every entry an alert links."""
    from django.core.management import call_command

    if not World().clerks:
        with open(os.devnull, "w") as quiet:
            call_command(
                "seed_demo",
                "--residents",
                "2000",
                "--no-progress",
                "--api-keys-file",
                os.devnull,
                stdout=quiet,
            )
    world = World()
    rng = random.Random(7)  # noqa: S311 - choosing demo requests
    now = timezone.now()
    plans = []
    for clerk in world.clerks:
        for case in world.cases.get(clerk.staff.department_id, []):
            if case.affair_id in clerk.affair_ids and case.is_open_at(now):
                rules = world.permitted(clerk, case.affair_id)
                number = world.addressee.get(
                    (clerk.staff.institution.organization_id, case.applicant_id)
                )
                if rules and number:
                    plans.append((clerk, case, rules, number))
    strangers = [n for (org, _), n in world.addressee.items()]
    db = connection.settings_dict
    log_dir = Path(settings.VAR_DIR) / "bench-delay"
    log_dir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        if connection.vendor == "postgresql"
        else f"sqlite:///{db['NAME']}",
        "YARITORI_DEMO": "1",
    }
    ScanWatermark.objects.update_or_create(name="default", defaults={"last_seq": _head()})
    first_seq = _head() + 1
    processes = _processes(env, log_dir)
    try:
        time.sleep(8)  # the worker's start
        sent = 0
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            due = started + sent / rate
            if due > time.perf_counter():
                time.sleep(due - time.perf_counter())
            clerk, case, rules, number = rng.choice(plans)
            rule = rng.choice(rules)
            provider = world.provider_for(clerk.staff.institution, rule, rng)
            if provider is None:
                continue
            caseless = sent % every == 0
            linkage_request_send(
                staff=clerk.staff,
                request_id=uuid.uuid4(),
                affair=rule.affair,
                item=rule.item,
                provider=provider,
                case=None if caseless else case,
                addressee_number=rng.choice(strangers) if caseless else number,
                terminal=clerk.terminal,
            )
            sent += 1
        say(f"sent {sent} requests in {elapsed:.0f} s ({sent / elapsed:.1f}/s)")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if ScanWatermark.objects.get(name="default").last_seq >= _head() >= first_seq:
                break
            time.sleep(0.5)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    delays = [
        d.total_seconds()
        for d in AlertEntry.objects.filter(seq__gte=first_seq)
        .annotate(delay=F("linked_at") - F("at"))
        .values_list("delay", flat=True)
    ]
    linked = len(delays)
    broker = settings.CELERY_BROKER_URL.split(":")[0]
    say(
        f"entry -> alert delay over {linked} linked entries (scan every "
        f"{settings.DETECTION_SCAN_INTERVAL:g} s, broker {broker}): "
        f"p50 {percentile(delays, 50):.2f} s, p95 {percentile(delays, 95):.2f} s, "
        f"max {max(delays, default=0):.2f} s"
    )


def _head() -> int:
    from audit.models import LedgerEntry

    return LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or -1
