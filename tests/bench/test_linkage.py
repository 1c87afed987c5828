"""The linkage benchmark's own parts: the requests it writes, its load generator and its CPU
accounting. (No timing is asserted: figures belong in docs/benchmarks.md, never in a test.)"""

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import linkage as bench_linkage


class _Echo(BaseHTTPRequestHandler):
    """Answers 201 to a JSON body with a well-formed request id; keeps what it received."""

    protocol_version = "HTTP/1.1"
    received: list[dict] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append(
            {
                "body": body,
                "authorization": self.headers["Authorization"],
                "operator": self.headers["X-Operator-Credential"],
            }
        )
        uuid.UUID(body["request_id"])  # raises (no answer) for a malformed one
        self.send_response(201)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    _Echo.received = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


WIRE = bench_linkage._wire_requests(
    {1: ("yk_first", "yo_first"), 2: ("yk_second", "yo_second")},
    [{"key_of": 1, "case": "R-1"}, {"key_of": 2, "case": "R-2"}],
)


def test_each_request_carries_its_own_id_key_and_a_true_length(server):
    out: queue.Queue = queue.Queue()
    bench_linkage._load(server, WIRE, 0.3, 1, None, out)
    latencies, statuses, _, cpu = out.get_nowait()
    assert statuses == {201: len(latencies)} and len(latencies) >= 2
    ids = [r["body"]["request_id"] for r in _Echo.received]
    assert len(set(ids)) == len(ids)  # a fresh id for every request
    assert _Echo.received[0]["body"] == {"case": "R-1", "request_id": ids[0]}
    assert _Echo.received[0]["authorization"] == "Bearer yk_first"
    assert _Echo.received[1]["authorization"] == "Bearer yk_second"
    assert _Echo.received[0]["operator"] == "yo_first"
    assert _Echo.received[1]["operator"] == "yo_second"
    assert cpu > 0


def test_at_a_fixed_rate_requests_are_started_when_due(server):
    out: queue.Queue = queue.Queue()
    bench_linkage._load(server, WIRE, 0.4, 4, 50.0, out)
    latencies, statuses, _, _ = out.get_nowait()
    # Due at 0, 20, 40 ... 380 ms: twenty, unless the machine made the loop miss the last.
    assert 15 <= len(latencies) <= 20
    assert statuses == {201: len(latencies)}


def test_a_refused_connection_is_counted_as_status_0():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]  # bound, never listening: connections are refused
        out: queue.Queue = queue.Queue()
        bench_linkage._load(closed_port, WIRE, 0.1, 2, None, out)
    latencies, statuses, _, _ = out.get_nowait()
    assert set(statuses) == {0} and statuses[0] == len(latencies) > 0


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads Linux /proc")
def test_cpu_of_a_process_tree_grows_with_its_work():
    cpu = bench_linkage._tree_cpu(os.getpid())
    before = cpu()
    deadline = before + 0.05
    while cpu() < deadline:  # burn a little CPU in this process
        sum(range(10_000))
    assert cpu() >= deadline


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads Linux /proc")
def test_a_process_that_exits_keeps_counting_in_its_group():
    """A worker recycled mid-phase must not take its CPU seconds with it: the group's count
    never goes down, and the exited child's seconds are in it."""
    cpu = bench_linkage._tree_cpu(os.getpid())
    before = cpu()
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time\nt = time.process_time()\n"
            "while time.process_time() - t < 0.3: sum(range(1000))",
        ],
        check=True,
    )
    assert child.returncode == 0  # exited, and waited for
    assert cpu() - before >= 0.25


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_servers_cpu_is_found():
    assert bench_linkage._postgres_cpu() > 0  # the server that serves this test has worked


def test_host_check_counts_slow_chunks_and_their_episodes():
    # 1 ms chunks, one at a time; two slow runs 0.5 s apart: one of 3 chunks, one of 1.
    durations = [0.001] * 100 + [0.005, 0.004, 0.003] + [0.001] * 500 + [0.010] + [0.001] * 50
    chunks, clock = [], 0.0
    for d in durations:
        clock += d
        chunks.append((clock, d))
    check = bench_linkage.HostCheck.from_chunks(chunks)
    assert check.median_ms == pytest.approx(1.0)
    assert check.episodes == 2
    assert check.slow_share == pytest.approx(0.022 / sum(durations))
    assert "2 episodes" in check.summary()


def test_host_check_on_a_steady_run_finds_no_episode():
    chunks = [(k * 0.001, 0.001) for k in range(1, 1000)]
    check = bench_linkage.HostCheck.from_chunks(chunks)
    assert (check.episodes, check.slow_share) == (0, 0.0)


def test_medians_over_runs_are_what_the_runs_measured():
    def phase(rate, latencies_ms):
        return bench_linkage.Phase(
            rate=rate,
            latencies=[ms / 1000 for ms in latencies_ms],
            statuses={201: len(latencies_ms)},
            cpu_ms={},
        )

    runs = [
        (phase(480, [30] * 10), phase(250, [5] * 98 + [80] * 2)),
        (phase(510, [30] * 10), phase(250, [6] * 98 + [40] * 2)),
        (phase(530, [30] * 10), phase(250, [4] * 98 + [60] * 2)),
    ]
    line = bench_linkage.medians(runs)
    assert line == (
        "median of 3 runs: throughput 510 requests/s; at the fixed rate p50 5.0 ms, p99 60.0 ms"
    )
