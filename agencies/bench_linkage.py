"""`manage.py bench linkage`: real HTTP requests to the agency API under gunicorn.

In the scratch database it loads a small demo world, starts gunicorn with the deployment's
configuration (deploy/gunicorn.conf.py: 2 x CPUs + 1 sync workers) and the ledger sequencer,
then drives POST /api/agency/requests from client processes: first as fast as they go
(throughput), then at a fixed rate (latency).
Every request is a distinct, permitted 情報照会 under an open case.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from agencies.models import AgencySystem
from agencies.services import agency_system_create
from agencies.traffic import _World

Say = Callable[[str], None]
_FORK = multiprocessing.get_context("fork")
ROOT = Path(__file__).resolve().parent.parent


def _templates(limit: int = 2000) -> tuple[dict[int, str], list[dict[str, Any]]]:
    """Request bodies that the network will answer, and an API key per institution."""
    world = _World()
    rng = random.Random(0)  # noqa: S311 - choosing demo providers
    keys: dict[int, str] = {}
    bodies: list[dict[str, Any]] = []
    now = timezone.now()
    for clerk in world.clerks:
        staff = clerk.staff
        for case in world.cases.get(staff.department_id, []):
            if case.affair_id not in clerk.affair_ids or not case.is_open_at(now):
                continue
            for rule in world.permitted(clerk, case.affair_id):
                provider = rule.provider_institution or world.provider_for(
                    staff.institution, rule.provider_kind, rng
                )
                number = world.addressee.get((staff.institution.organization_id, case.applicant_id))
                if provider is None or number is None:
                    continue
                if staff.institution_id not in keys:
                    _, keys[staff.institution_id] = agency_system_create(
                        institution=staff.institution, name="bench"
                    )
                bodies.append(
                    {
                        "key_of": staff.institution_id,
                        "staff": staff.user.username,
                        "affair": rule.affair.code,
                        "item": rule.item.code,
                        "provider": provider.code,
                        "case": case.reference,
                        "addressee_number": number,
                    }
                )
                if len(bodies) >= limit:
                    return keys, bodies
    return keys, bodies


def _client(
    port: int,
    keys: dict[int, str],
    bodies: list[dict[str, Any]],
    seconds: float,
    rate: float | None,
    offset: int,
    out: Any,
) -> None:
    """One client process: send until the time is up; report (latencies, statuses)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    n = 0
    while True:
        now = time.perf_counter()
        if now - started >= seconds:
            break
        if rate:
            due = started + n / rate
            if due > now:
                time.sleep(due - now)
        body = dict(bodies[(offset + n) % len(bodies)])
        key = keys[body.pop("key_of")]
        body["request_id"] = str(uuid.uuid4())
        payload = json.dumps(body).encode()
        t0 = time.perf_counter()
        conn.request(
            "POST",
            "/api/agency/requests",
            payload,
            {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - t0)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        n += 1
    out.put((latencies, statuses, time.perf_counter() - started))


def _drive(
    port: int,
    keys: dict[int, str],
    bodies: list[dict[str, Any]],
    *,
    clients: int,
    seconds: float,
    total_rate: float | None,
) -> tuple[float, list[float], dict[int, int]]:
    out: Any = _FORK.Queue()
    rate = total_rate / clients if total_rate else None
    procs = [
        _FORK.Process(target=_client, args=(port, keys, bodies, seconds, rate, i * 997, out))
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = [x for r in results for x in r[0]]
    statuses: dict[int, int] = {}
    for r in results:
        for code, count in r[1].items():
            statuses[code] = statuses.get(code, 0) + count
    elapsed = max(r[2] for r in results)
    return len(latencies) / elapsed, latencies, statuses


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def bench_linkage(*, seconds: float, clients: int, rate: float, say: Say) -> None:
    """Throughput with `clients` closed-loop clients, then latency at `rate` requests/s."""
    if not AgencySystem.objects.filter(name="bench").exists():
        call_command(
            "seed_demo", "--residents", "2000", "--no-progress", "--api-keys-file", "/dev/null"
        )
    keys, bodies = _templates()
    if not bodies:
        raise RuntimeError("the demo world has no open case to send requests under")
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    port = _free_port()
    connections.close_all()
    web = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            "deploy/gunicorn.conf.py",  # as deployed: workers, access log and all
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sequencer = subprocess.Popen(
        [sys.executable, "manage.py", "ledger_sequencer"], cwd=ROOT, env=env, start_new_session=True
    )
    try:
        _wait_for(port, time.monotonic() + 30)
        _drive(port, keys, bodies, clients=clients, seconds=2, total_rate=None)  # warm up
        throughput, lat, statuses = _drive(
            port, keys, bodies, clients=clients, seconds=seconds, total_rate=None
        )
        say(
            f"throughput, {clients} clients: {throughput:,.0f} requests/s; p50 "
            f"{statistics.median(lat) * 1000:.1f} ms, p99 {_p99(lat) * 1000:.1f} ms; "
            f"statuses {statuses}"
        )
        achieved, lat, statuses = _drive(
            port, keys, bodies, clients=clients, seconds=seconds, total_rate=rate
        )
        say(
            f"fixed rate {rate:.0f}/s: achieved {achieved:,.0f} requests/s; p50 "
            f"{statistics.median(lat) * 1000:.1f} ms, p99 {_p99(lat) * 1000:.1f} ms; "
            f"statuses {statuses}"
        )
    finally:
        for proc in (web, sequencer):
            proc.send_signal(signal.SIGTERM)
        for proc in (web, sequencer):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)] if ordered else 0.0
