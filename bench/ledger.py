"""Benchmarks of the ledger (manage.py bench append|verify|proof), run in a scratch database.

Each benchmark prints the figures the acceptance criteria name, measured in one run on this
machine: rates and ratios, not absolute promises. They are never run as timed tests.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier

from django.conf import settings
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.network.events import LINKAGE_REQUEST
from audit.ledger import (
    INTAKE_COLUMNS,
    consistency_proof_between,
    entry_prepare,
    inclusion_proof_for,
    ledger_append,
    ledger_integrate,
)
from audit.models import Checkpoint, LedgerEntry, LedgerIntake
from audit.sequencer import sequencer_loop
from audit.tlog.merkle import consistency_proof_ranges, inclusion_proof_ranges, perfect_pieces
from audit.verification import verify_log
from core.db import fetch_one, insert_rows

Say = Callable[[str], None]
_FORK = multiprocessing.get_context("fork")

_FIELDS = {
    "requester": "0110020000000001",
    "provider": "1300010000000002",
    "affair": "JT01010000000214",
    "item": "TM00000000000002",
    "staff": "ST0123456789ABCDEF",
    "outcome": "provided",
    "nondisclosure": False,
}


def _fields(n: int) -> dict[str, object]:
    return {**_FIELDS, "request_id": str(uuid.UUID(int=n + 1, version=4))}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))
    return ordered[rank]


# --- append -----------------------------------------------------------------------------------


def _plain_writer(
    barrier: Barrier,
    table: str,
    numbers: list[int],
    out: multiprocessing.Queue[tuple[float, float]],
) -> None:
    """INSERT the same rows as the ledger writers, built the same way, into a plain table."""
    connections.close_all()
    barrier.wait()
    started = time.perf_counter()
    # table is the benchmark's own constant, never input. The statement goes through the same
    # prepared driver cursor as ledger_append's, with the same columns and values, so that only
    # the ledger's own work differs.
    columns = ", ".join(INTAKE_COLUMNS)
    marks = ", ".join(["%s"] * len(INTAKE_COLUMNS))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id"  # noqa: S608
    for n in numbers:
        entry = entry_prepare(event_type=LINKAGE_REQUEST, fields=_fields(n))
        # autocommit: one row, one transaction, as each ledger append here
        fetch_one(sql, list(entry.values))
    out.put((started, time.perf_counter()))
    connections.close_all()


def _ledger_writer(
    barrier: Barrier, numbers: list[int], out: multiprocessing.Queue[tuple[float, float]]
) -> None:
    connections.close_all()
    barrier.wait()
    started = time.perf_counter()
    for n in numbers:
        ledger_append(event_type=LINKAGE_REQUEST, fields=_fields(n))
    out.put((started, time.perf_counter()))
    connections.close_all()


def _sequencer(barrier: Barrier, target: int, out: multiprocessing.Queue[float]) -> None:
    connections.close_all()
    barrier.wait()
    sequencer_loop(interval=0.2, batch=10_000, stop=lambda r: r is not None and r.size >= target)
    out.put(time.perf_counter())
    connections.close_all()


@dataclass
class AppendFigures:
    plain_rate: float
    append_rate: float
    end_to_end_rate: float
    delay_p50: float
    delay_p99: float
    delay_max: float


def _plain_round(writers: int, numbers: list[int], table: str) -> float:
    """One round of plain INSERTs by `writers` processes; returns rows per second."""
    per = [numbers[i::writers] for i in range(writers)]
    connections.close_all()
    queue: multiprocessing.Queue[tuple[float, float]] = _FORK.Queue()
    barrier = _FORK.Barrier(writers)
    procs = [
        _FORK.Process(target=_plain_writer, args=(barrier, table, share, queue)) for share in per
    ]
    for p in procs:
        p.start()
    spans = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return len(numbers) / (max(e for _, e in spans) - min(s for s, _ in spans))


def _ledger_round(writers: int, numbers: list[int]) -> tuple[float, float]:
    """One round of ledger appends with the sequencer running; returns (append rate, rate of
    entries appended, integrated and covered by a signed checkpoint)."""
    per = [numbers[i::writers] for i in range(writers)]
    target = LedgerEntry.objects.count() + len(numbers)
    connections.close_all()
    queue: multiprocessing.Queue[tuple[float, float]] = _FORK.Queue()
    done: multiprocessing.Queue[float] = _FORK.Queue()
    barrier = _FORK.Barrier(writers + 1)
    procs = [_FORK.Process(target=_ledger_writer, args=(barrier, share, queue)) for share in per]
    seq_proc = _FORK.Process(target=_sequencer, args=(barrier, target, done))
    for p in [*procs, seq_proc]:
        p.start()
    spans = [queue.get() for _ in procs]
    integrated_at = done.get()
    for p in [*procs, seq_proc]:
        p.join()
    start = min(s for s, _ in spans)
    return (
        len(numbers) / (max(e for _, e in spans) - start),
        len(numbers) / (integrated_at - start),
    )


def bench_append(*, writers: int, entries: int, rounds: int, say: Say) -> AppendFigures:
    """`writers` processes append `entries` entries while the sequencer integrates them, and
    the same rows, built the same way, are INSERTed plainly into a copy of the intake table.
    The two alternate for `rounds` rounds (this machine is noisy); medians are reported."""
    table = "bench_plain_intake"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        # Same columns, defaults and indexes as the intake table; no triggers.
        cursor.execute(
            f"CREATE TABLE {table} (LIKE audit_ledgerintake INCLUDING DEFAULTS "
            "INCLUDING INDEXES INCLUDING IDENTITY)"
        )
    # Entries left unintegrated by an earlier run (--keep) would count as delayed here.
    while ledger_integrate().integrated:
        pass
    base = LedgerEntry.objects.count()
    plain: list[float] = []
    appended: list[float] = []
    end_to_end: list[float] = []
    for r in range(rounds):
        numbers = list(range(r * entries, (r + 1) * entries))
        plain.append(_plain_round(writers, numbers, table))
        a, e = _ledger_round(writers, numbers)
        appended.append(a)
        end_to_end.append(e)
        say(
            f"round {r + 1}: plain INSERT {plain[-1]:,.0f} rows/s; ledger appended "
            f"{a:,.0f}/s, integrated and signed end to end {e:,.0f}/s; ratio {e / plain[-1]:.2f}"
        )
    delays = integration_delays(first_seq=base)
    figures = AppendFigures(
        statistics.median(plain),
        statistics.median(appended),
        statistics.median(end_to_end),
        percentile(delays, 50),
        percentile(delays, 99),
        max(delays, default=0.0),
    )
    say(
        f"median of {rounds} rounds, {writers} writers, {entries} entries each: plain INSERT "
        f"{figures.plain_rate:,.0f} rows/s; ledger end to end {figures.end_to_end_rate:,.0f}/s "
        f"(appended {figures.append_rate:,.0f}/s); ratio "
        f"{figures.end_to_end_rate / figures.plain_rate:.2f}"
    )
    say(
        f"integration delay (appended -> covered by a signed checkpoint), {len(delays)} "
        f"entries: p50 {figures.delay_p50 * 1000:.0f} ms, p99 {figures.delay_p99 * 1000:.0f} "
        f"ms, max {figures.delay_max * 1000:.0f} ms"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")
    return figures


def integration_delays(*, first_seq: int = 0) -> list[float]:
    """Seconds from each entry's append to the signing of the first checkpoint covering it."""
    checkpoints = list(
        Checkpoint.objects.filter(size__gt=first_seq)
        .order_by("size")
        .values_list("size", "signed_at")
    )
    delays: list[float] = []
    at = 0
    for seq, created in (
        LedgerEntry.objects.filter(seq__gte=first_seq)
        .order_by("seq")
        .values_list("seq", "intake__created_at")
        .iterator(chunk_size=20000)
    ):
        while checkpoints[at][0] <= seq:
            at += 1
        delays.append((checkpoints[at][1] - created).total_seconds())
    return delays


# --- building a large log -----------------------------------------------------------------------


def build_log(*, size: int, say: Say) -> None:
    """Grow the ledger to `size` entries: intake rows by COPY, then the real sequencer."""
    have = LedgerIntake.objects.count()
    if have < size:
        started = time.perf_counter()
        moment = timezone.now()
        rows = (
            entry_prepare(event_type=LINKAGE_REQUEST, fields=_fields(n), moment=moment).values
            for n in range(have, size)
        )
        insert_rows(LedgerIntake, INTAKE_COLUMNS, rows)
        say(f"built {size - have} intake rows in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    integrated = 0
    while True:
        result = ledger_integrate(max_batch=50_000)
        integrated += result.integrated
        if not result.integrated:
            break
    if integrated:
        say(
            f"integrated {integrated} entries in {time.perf_counter() - started:.1f} s "
            f"({integrated / (time.perf_counter() - started):,.0f}/s)"
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- proofs ------------------------------------------------------------------------------------


@dataclass
class ProofFigures:
    size: int
    inclusion_median_ms: float
    inclusion_p99_ms: float
    consistency_median_ms: float
    consistency_p99_ms: float
    queries_per_proof: float
    rows_inclusion: float
    rows_consistency: float


def bench_proofs(*, size: int, samples: int, say: Say) -> ProofFigures:
    """Time inclusion and consistency proofs at tree size `size` and count database reads."""
    import random

    rng = random.Random(size)  # noqa: S311 - picking sample positions
    inc_ms: list[float] = []
    con_ms: list[float] = []
    queries = 0
    rows_inc: list[int] = []
    rows_con: list[int] = []
    for _ in range(samples):
        seq = rng.randrange(size)
        old = rng.randrange(1, size + 1)
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            inclusion_proof_for(seq, size)
            inc_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            consistency_proof_between(old, size)
            con_ms.append((time.perf_counter() - t) * 1000)
        queries += len(ctx.captured_queries)
        rows_inc.append(len(perfect_pieces(inclusion_proof_ranges(seq, size))))
        rows_con.append(len(perfect_pieces(consistency_proof_ranges(old, size))))
    figures = ProofFigures(
        size,
        statistics.median(inc_ms),
        percentile(inc_ms, 99),
        statistics.median(con_ms),
        percentile(con_ms, 99),
        queries / (2 * samples),
        statistics.mean(rows_inc),
        statistics.mean(rows_con),
    )
    say(
        f"size {size:>9,}: inclusion median {figures.inclusion_median_ms:.2f} ms "
        f"p99 {figures.inclusion_p99_ms:.2f} ms; consistency median "
        f"{figures.consistency_median_ms:.2f} ms p99 {figures.consistency_p99_ms:.2f} ms; "
        f"{figures.queries_per_proof:.0f} query per proof reading {figures.rows_inclusion:.1f} "
        f"(inclusion) / {figures.rows_consistency:.1f} (consistency) subtree rows "
        f"[log2(size) = {size.bit_length() - 1}]"
    )
    return figures


# --- verify ------------------------------------------------------------------------------------


def bench_verify(*, jobs: int, repeat: int, say: Say) -> float:
    """Verify the whole log `repeat` times; returns the median rate in entries per second."""
    rates = []
    for _ in range(repeat):
        started = time.perf_counter()
        report = verify_log(jobs=jobs)
        elapsed = time.perf_counter() - started
        if not report.ok:
            raise RuntimeError(f"the benchmark log does not verify: {report.damage}")
        rates.append(report.size / elapsed)
        say(
            f"verified {report.size:,} entries with {jobs} process(es) in {elapsed:.2f} s = "
            f"{rates[-1]:,.0f} entries/s"
        )
    median = statistics.median(rates)
    say(f"median of {repeat}: {median:,.0f} entries/s")
    return median


def scratch_database(*, keep: bool) -> Callable[[], None]:
    """Switch to a scratch database named '<name>_bench', migrated; returns its teardown."""
    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = (
        f"{db['NAME']}_bench"
        if connection.vendor != "sqlite"
        else str(settings.VAR_DIR / "bench.sqlite3")
    )
    original = db["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=keep, serialize=False)

    def teardown() -> None:
        if not keep:
            connection.creation.destroy_test_db(original, verbosity=0)

    return teardown
