"""`manage.py bench linkage`: real HTTP requests to the agency API under gunicorn.

In the scratch database it loads a small demo world, starts gunicorn with the deployment's
configuration (deploy/gunicorn.conf.py: CPUs + 1 sync workers) and the ledger sequencer,
then drives POST /api/agency/requests from one load-generating process: first with a fixed
number of requests in flight (throughput), then at a fixed rate (latency).
Every request is a distinct, permitted 情報照会 under an open case.
"""

from __future__ import annotations

import gc
import io
import json
import multiprocessing
import os
import random
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from agencies.models import AgencySystem
from agencies.services import agency_system_create, operator_credential_issue
from demo.office import World

Say = Callable[[str], None]
_FORK = multiprocessing.get_context("fork")
ROOT = Path(__file__).resolve().parent.parent


def _templates(limit: int = 2000) -> tuple[dict[int, tuple[str, str]], list[dict[str, Any]]]:
    """Request bodies that the network will answer, and for each operator the system key of
    their institution and their own operator credential (keyed by staff id)."""
    world = World()
    rng = random.Random(0)  # noqa: S311 - choosing demo providers
    system_keys: dict[int, str] = {}
    auth: dict[int, tuple[str, str]] = {}
    bodies: list[dict[str, Any]] = []
    now = timezone.now()
    for clerk in world.clerks:
        staff = clerk.staff
        for case in world.cases.get(staff.department_id, []):
            if case.affair_id not in clerk.affair_ids or not case.is_open_at(now):
                continue
            for rule in world.permitted(clerk, case.affair_id):
                provider = world.provider_for(staff.institution, rule, rng, case.applicant_id)
                number = world.addressee.get((staff.institution.organization_id, case.applicant_id))
                if provider is None or number is None:
                    continue
                if staff.institution_id not in system_keys:
                    _, system_keys[staff.institution_id] = agency_system_create(
                        institution=staff.institution, name="bench"
                    )
                if staff.pk not in auth:
                    _, credential = operator_credential_issue(staff=staff)
                    auth[staff.pk] = (system_keys[staff.institution_id], credential)
                bodies.append(
                    {
                        "key_of": staff.pk,
                        "affair": rule.affair.code,
                        "item": rule.item.code,
                        "provider": provider.code,
                        "case": case.reference,
                        "addressee_number": number,
                    }
                )
                if len(bodies) >= limit:
                    return auth, bodies
    return auth, bodies


def _wire_requests(
    keys: dict[int, tuple[str, str]], bodies: list[dict[str, Any]]
) -> list[tuple[bytes, bytes]]:
    """Each body as the bytes of an HTTP/1.1 request, split where its request id goes.

    The client writes these to the socket itself: http.client's header handling cost the
    shared CPUs a tenth of what the server spent per request, and a load generator should
    measure the server, not itself. `Connection: close` makes the end of the response the
    end of the stream, whatever the server's worker class.
    """
    wire = []
    for template in bodies:
        body = dict(template)
        key, credential = keys[body.pop("key_of")]
        body["request_id"] = "\0"
        head, tail = json.dumps(body).encode().split(b"\\u0000")
        headers = (
            "POST /api/agency/requests HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {key}\r\nX-Operator-Credential: {credential}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(head) + 36 + len(tail)}\r\nConnection: close\r\n\r\n"
        )
        wire.append((headers.encode() + head, tail))
    return wire


def _load(
    port: int,
    wire: list[tuple[bytes, bytes]],
    seconds: float,
    concurrency: int,
    rate: float | None,
    out: Any,
) -> None:
    """The load generator, one process, non-blocking sockets.

    Without a rate it keeps `concurrency` requests in flight (closed loop: throughput).
    With one, request k is due at k / rate seconds (open loop, at most `concurrency` in
    flight) and its latency counts from when it was due, so a server that falls behind is
    charged for the wait rather than slowing the clock (no coordinated omission).
    Each request is a new connection, written whole and read to the end of the stream.
    Reports (latencies, statuses, elapsed, own CPU seconds); status 0 is a failed connection.
    """
    # This process is forked from the command's, with Django and the demo world in its heap:
    # a full collection would scan all of it, a stall of 50-100 ms charged to every request
    # due meanwhile. Frozen, that inherited heap is never scanned.
    gc.freeze()
    selector = selectors.DefaultSelector()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    deadline = started + seconds
    sent = in_flight = 0

    def due(k: int, now: float) -> float:
        return started + k / rate if rate else now

    def finish(conn: socket.socket, state: list[Any]) -> None:
        nonlocal in_flight
        selector.unregister(conn)
        conn.close()
        in_flight -= 1
        latencies.append(time.perf_counter() - state[1])
        response = b"".join(state[2])
        status = int(response[9:12]) if response[:7] == b"HTTP/1." else 0
        statuses[status] = statuses.get(status, 0) + 1

    while True:
        now = time.perf_counter()
        if now < deadline:
            while in_flight < concurrency and due(sent, now) <= now:
                head, tail = wire[sent % len(wire)]
                conn = socket.socket()
                conn.setblocking(False)
                conn.connect_ex(("127.0.0.1", port))
                request = head + str(uuid.uuid4()).encode() + tail
                selector.register(conn, selectors.EVENT_WRITE, [request, due(sent, now), []])
                sent += 1
                in_flight += 1
        elif not in_flight:
            break
        wait = None  # until a response moves, unless the next request falls due before
        if rate and now < deadline and in_flight < concurrency:
            wait = max(0.0, due(sent, now) - now)
        for key, events in selector.select(wait):
            conn, state = cast(socket.socket, key.fileobj), key.data
            try:
                if events & selectors.EVENT_WRITE:
                    state[0] = state[0][conn.send(state[0]) :]
                    if not state[0]:
                        selector.modify(conn, selectors.EVENT_READ, state)
                elif chunk := conn.recv(65536):
                    state[2].append(chunk)
                else:
                    finish(conn, state)
            except OSError:  # refused or reset: counted as status 0
                state[2].clear()
                finish(conn, state)
    out.put((latencies, statuses, time.perf_counter() - started, time.process_time()))


@dataclass
class Phase:
    """One load phase: its rate, latencies, statuses and where the machine's CPU went."""

    rate: float
    latencies: list[float]
    statuses: dict[int, int]
    cpu_ms: dict[str, float]  # per request, by process group

    def summary(self) -> str:
        lat = self.latencies
        cpu = ", ".join(f"{name} {ms:.2f}" for name, ms in self.cpu_ms.items())
        return (
            f"{self.rate:,.0f} requests/s; p50 {statistics.median(lat) * 1000:.1f} ms, p99 "
            f"{_p99(lat) * 1000:.1f} ms; statuses {self.statuses}; CPU ms per request: {cpu}"
        )


def _drive(
    port: int,
    wire: list[tuple[bytes, bytes]],
    groups: dict[str, Callable[[], float]],
    *,
    clients: int,
    seconds: float,
    total_rate: float | None,
) -> Phase:
    out: Any = _FORK.Queue()
    load = _FORK.Process(target=_load, args=(port, wire, seconds, clients, total_rate, out))
    before = {name: cpu() for name, cpu in groups.items()}
    load.start()
    latencies, statuses, elapsed, client_cpu = out.get()
    spent = {name: cpu() - before[name] for name, cpu in groups.items()}
    load.join()
    spent["clients"] = client_cpu
    count = max(1, len(latencies))
    return Phase(
        rate=len(latencies) / elapsed,
        latencies=latencies,
        statuses=statuses,
        cpu_ms={name: seconds * 1000 / count for name, seconds in spent.items()},
    )


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_table() -> dict[int, tuple[int, str, float]]:
    """Every process: pid -> (parent pid, command name, CPU seconds so far). Linux /proc.

    A process's CPU seconds include those of its children that have exited and been
    waited for: the seconds of a process that ends (a recycled worker, an autovacuum worker)
    go on counting in its parent's, so a sum over a group of processes never goes down."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # exited while we looked
            continue
        name = stat[stat.index(b"(") + 1 : stat.rindex(b")")].decode(errors="replace")
        fields = stat[stat.rindex(b")") + 2 :].split()
        # utime + stime, and cutime + cstime: the children it has waited for.
        cpu = sum(int(tick) for tick in fields[11:15]) / _TICKS
        table[int(entry.name)] = (int(fields[1]), name, cpu)
    return table


def _tree_cpu(root: int) -> Callable[[], float]:
    """CPU seconds of a process and all its living descendants."""

    def cpu() -> float:
        table = _process_table()
        tree = {root}
        while grown := {pid for pid, (parent, _, _) in table.items() if parent in tree} - tree:
            tree |= grown
        return sum(table[pid][2] for pid in tree if pid in table)

    return cpu


def _postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL server process on the machine (the bench's database
    server is local; the other clusters' share is noise, reported with it)."""
    return sum(seconds for _, name, seconds in _process_table().values() if name == "postgres")


def _cpu_groups(web: int, sequencer: int) -> dict[str, Callable[[], float]]:
    if not os.path.isdir("/proc/self"):
        return {}  # no /proc: no CPU split, the rates still stand
    return {"web": _tree_cpu(web), "database": _postgres_cpu, "sequencer": _tree_cpu(sequencer)}


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


def _ensure_world() -> None:
    if not AgencySystem.objects.filter(name="bench").exists():
        call_command(
            "seed_demo", "--residents", "2000", "--no-progress", "--api-keys-file", "/dev/null"
        )


def bench_linkage_wsgi(*, requests: int, say: Say) -> None:
    """The same requests handed to the WSGI application in this process: no gunicorn, no
    sockets, no other process competing. What it reports, a worker's own CPU per request,
    holds far steadier than the HTTP rates on a shared machine; under
    `valgrind --tool=callgrind` the instructions per request compare two versions of the code
    exactly (docs/benchmarks.md)."""
    from django.core.wsgi import get_wsgi_application

    # The application gunicorn serves (config.wsgi), built here: config sits above bench.
    application = get_wsgi_application()
    _ensure_world()
    keys, bodies = _templates()
    if not bodies:
        raise RuntimeError("the demo world has no open case to send requests under")

    def call(n: int) -> int:
        body = dict(bodies[n % len(bodies)])
        key, credential = keys[body.pop("key_of")]
        body["request_id"] = str(uuid.uuid4())
        payload = json.dumps(body).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/agency/requests",
            "QUERY_STRING": "",
            "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {key}",
            "HTTP_X_OPERATOR_CREDENTIAL": credential,
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(payload)),
            "wsgi.input": io.BytesIO(payload),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        status: list[str] = []

        def start_response(
            line: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            status.append(line)
            return len  # the write() callable, which Django never uses

        response = application(environ, start_response)
        b"".join(response)
        response.close()
        return int(status[0][:3])

    for n in range(300):  # the first requests import views and fill the per-process caches
        call(n)
    block = 200
    per_request: list[float] = []
    statuses: dict[int, int] = {}
    # One request at a time, so the database's CPU is this process's requests' alone.
    database = _postgres_cpu if connections["default"].vendor == "postgresql" else None
    database_before = database() if database else 0.0
    for first in range(0, max(requests, block), block):
        started = time.process_time()
        for n in range(first, first + block):
            code = call(n)
            statuses[code] = statuses.get(code, 0) + 1
        per_request.append((time.process_time() - started) * 1000 / block)
    sent = sum(statuses.values())
    database_ms = (
        f"; PostgreSQL {(database() - database_before) * 1000 / sent:.2f} ms per request"
        if database
        else ""
    )
    say(
        f"in-process WSGI, {sent} requests: CPU per request median "
        f"{statistics.median(per_request):.2f} ms (blocks of {block}: {min(per_request):.2f}-"
        f"{max(per_request):.2f}){database_ms}; statuses {statuses}"
    )


@dataclass
class HostCheck:
    """How steady the CPU was while one process ran fixed chunks of pure Python work."""

    median_ms: float  # one chunk's usual time
    slow_share: float  # share of the time spent in chunks that took 3 times that or more
    episodes: int  # runs of slow chunks, counted once per run

    @classmethod
    def from_chunks(cls, chunks: list[tuple[float, float]]) -> HostCheck:
        """From (end time, duration) of consecutive chunks: slow chunks are those of 3 times
        the median or more, and slow chunks less than 0.1 s apart are one episode."""
        usual = statistics.median(d for _, d in chunks)
        slow = [(end, d) for end, d in chunks if d >= 3 * usual]
        episodes = sum(
            1 for k, (end, d) in enumerate(slow) if k == 0 or end - d - slow[k - 1][0] > 0.1
        )
        return cls(
            median_ms=usual * 1000,
            slow_share=sum(d for _, d in slow) / sum(d for _, d in chunks),
            episodes=episodes,
        )

    def summary(self) -> str:
        return (
            f"host check: a chunk of work takes {self.median_ms:.2f} ms; chunks 3x slower or "
            f"worse took {self.slow_share:.1%} of the time, in {self.episodes} episodes"
        )


def host_check(seconds: float = 3.0) -> HostCheck:
    """Run fixed chunks of CPU work for `seconds` and report how often they ran slow.

    On a shared virtual machine the CPU itself sometimes slows down for tens of
    milliseconds: the same chunk then takes 3-10 times its CPU time, on an otherwise idle
    machine. Every process is slowed at once, so such an episode puts every request in
    flight past a 50 ms p99 whatever the code does; the bench prints this check before and
    after its phases so that a run on an unsteady host can be told apart.
    """
    chunks: list[tuple[float, float]] = []  # (end, duration)
    deadline = time.perf_counter() + seconds
    while (now := time.perf_counter()) < deadline:
        total = 0
        for i in range(20_000):
            total += i * i
        end = time.perf_counter()
        chunks.append((end, end - now))
    return HostCheck.from_chunks(chunks)


def bench_linkage(*, seconds: float, clients: int, rate: float, say: Say, runs: int = 1) -> None:
    """Throughput with `clients` closed-loop clients, then latency at `rate` requests/s;
    `runs` times against the same server, with the medians over the runs at the end.

    Each phase reports the CPU time per request of the gunicorn workers, the PostgreSQL
    server, the sequencer and the clients, read from /proc: with everything on one machine
    these add up to the budget the rate leaves (cores / rate), and they move much less from
    run to run than the rate does."""
    _ensure_world()
    keys, bodies = _templates()
    if not bodies:
        raise RuntimeError("the demo world has no open case to send requests under")
    wire = _wire_requests(keys, bodies)
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    # The load is a few keys at hundreds of requests a second: a rate no real system sends,
    # so the limit is raised (the throttle's own work is still done on every request).
    env.setdefault("AGENCY_API_RATE", "10000000/h")
    port = _free_port()
    connections.close_all()
    say(host_check().summary())  # before anything of the bench's own runs
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
    groups = _cpu_groups(web.pid, sequencer.pid)
    try:
        _wait_for(port, time.monotonic() + 30)
        _drive(port, wire, groups, clients=clients, seconds=2, total_rate=None)  # warm up
        results: list[tuple[Phase, Phase]] = []
        for run in range(runs):
            if run:
                say(host_check().summary())
            full = _drive(port, wire, groups, clients=clients, seconds=seconds, total_rate=None)
            say(f"throughput, {clients} connections: {full.summary()}")
            fixed = _drive(port, wire, groups, clients=clients, seconds=seconds, total_rate=rate)
            say(f"fixed rate {rate:.0f}/s: achieved {fixed.summary()}")
            results.append((full, fixed))
        say(host_check().summary())
        if runs > 1:
            say(medians(results))
    finally:
        for proc in (web, sequencer):
            proc.send_signal(signal.SIGTERM)
        for proc in (web, sequencer):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def medians(results: list[tuple[Phase, Phase]]) -> str:
    """The medians over runs of (throughput phase, fixed-rate phase): what to quote."""
    fixed = [f for _, f in results]
    return (
        f"median of {len(results)} runs: throughput "
        f"{statistics.median(t.rate for t, _ in results):,.0f} requests/s; at the fixed rate "
        f"p50 {statistics.median(statistics.median(f.latencies) for f in fixed) * 1000:.1f} ms, "
        f"p99 {statistics.median(_p99(f.latencies) for f in fixed) * 1000:.1f} ms"
    )


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)] if ordered else 0.0
