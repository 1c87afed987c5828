"""The incremental scanner (増分走査): reads the ledger's integrated entries after its
watermark, judges them (detection.engine) against the product's tables, and records alerts.

Exactly once: each batch is one transaction that locks the watermark row, reads the entries
after it, writes what it found (alerts, their entries, the scanner's own observations, the
mails to send) and moves the watermark on. A crash rolls all of it back; a second scanner
finds the row locked and leaves (skip_locked), or, after the first commits, starts where it
ended; an alert's dedupe key and an entry's link are unique, so even a replay could not add
either twice. Entries are read through audit.entries.parse_leaf only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Count, FloatField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Cast, Extract
from django.utils import timezone

from agencies.models import Organization
from audit.entries import EntryFieldError, LedgerRecord, parse_leaf
from core.calendar import TOKYO
from core.db import insert_rows
from detection import engine
from detection.engine import Context, Finding, Request, Seen
from detection.mail import alert_mails_enqueue
from detection.models import (
    Access,
    Alert,
    AlertEntry,
    AlertStatus,
    LedgerFact,
    ScanWatermark,
    StaffDay,
)
from detection.rules import RULES, GroupBy, Severity
from detection.selectors import (
    OfficerBook,
    StaffDirectory,
    StaffInfo,
    cases_by_reference,
    consent_pairs,
    consent_periods,
    facts_by_key,
    memberships,
    persons_by_subject,
    rule_config,
    staff_directory,
    subject_index_fill,
    watched_subjects,
)

logger = logging.getLogger("detection.scanner")

DEFAULT_SCANNER = "default"
# Entries judged per transaction when there is a backlog: large enough that a batch's dozen
# queries cost little per entry (bench scan: 5,000 ran at about 60 % of 20,000's rate),
# small enough that a batch commits within a few seconds.
DEFAULT_BATCH = 20_000
ACCESS_TYPES = frozenset({"linkage.request", "internal.transfer"})
# Entries that change what later requests are judged against, by the key they are kept under.
FACT_TYPES = frozenset(
    {
        "batch.opened",
        "consent.given",
        "consent.withdrawn",
        "assignment.granted",
        "assignment.ended",
        "ordinance.added",
        "ordinance.ended",
        "nondisclosure.set",
        "nondisclosure.lifted",
    }
)
_READ_TYPES = ACCESS_TYPES | FACT_TYPES

# Integrated entries after a sequence number, in order, with their event type (indexed on the
# intake row) so that entries no rule reads are passed over without parsing.
_ENTRIES_SQL = (
    "SELECT e.seq, i.event_type, i.leaf FROM audit_ledgerentry e "
    "JOIN audit_ledgerintake i ON i.id = e.intake_id "
    "WHERE e.seq > %s ORDER BY e.seq LIMIT %s"
)


@dataclass(frozen=True)
class ScanResult:
    """What one scan_run did: entries read, the watermark after, alerts opened and entries
    linked to alerts; busy when another scanner held the watermark."""

    scanned: int
    last_seq: int
    alerts_opened: int = 0
    entries_linked: int = 0
    busy: bool = False


@dataclass
class Batch:
    """The entries after a sequence number, read and parsed: how many there were (every
    type), the last one's number, and the requests and facts among them, in order."""

    after: int
    count: int
    last_seq: int
    requests: list[Request] = field(default_factory=list)
    facts: list[tuple[int, LedgerRecord]] = field(default_factory=list)
    unreadable: list[tuple[int, str]] = field(default_factory=list)  # (seq, event type)


class ScanSession:
    """What a scan reads once for all its batches: the staff, the rule settings in force, the
    watchlist, the items needing consent, the organisations' codes, and the StaffDay counts
    it has read, which it keeps up to date with what it adds itself (it is their only
    writer, holding the watermark). A change an auditor makes is seen by the next session,
    seconds later. A session that saw a batch fail is not used again.

    With read_ahead, while a full batch is judged, a thread reads and parses the next one
    (EntryReader); close() ends it.
    """

    def __init__(self, *, read_ahead: bool = False) -> None:
        self.directory = staff_directory()
        self.staff_by_id = {s.id: s for s in self.directory.by_pseudonym.values()}
        self.config = rule_config()
        self.watched = watched_subjects()
        self.consent_pairs = consent_pairs()
        self.org_codes = dict(Organization.objects.values_list("id", "code"))
        self.days = StaffDays()
        # Whether any fact (batch, consent, assignment, ordinance, 不開示 entry) was ever
        # recorded: without one, no request needs its fact keys looked up.
        self.has_facts = LedgerFact.objects.exists()
        self.reader = EntryReader() if read_ahead else None

    def staff_of(self, staff_id: int | None) -> StaffInfo | None:
        return self.staff_by_id.get(staff_id) if staff_id is not None else None

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None


class EntryReader:
    """Reads and parses the batch after a given entry in a thread of its own, on a connection
    of its own, while the scanner judges the current batch: the driver lets go of the
    interpreter while it waits for PostgreSQL, so the next batch's parsing overlaps this
    batch's statements (and the reading, the other way round).

    Only an entry's reading moves ahead, never its judging: the batch is taken only by the
    transaction that holds the watermark at the very entry it was read after, and only when
    it is full. Integrated entries never change and are numbered without gaps in commit
    order, so a full batch read a moment earlier is the batch the transaction would read
    itself; anything else (a shorter batch, another scanner's progress, a failure) is
    dropped, and the transaction reads as it always did.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detection-reader")
        self._pending: tuple[int, int, Future[Batch]] | None = None
        self._started = False  # the pool makes its thread (and connection) on first use

    def start(self, after: int, limit: int, directory: StaffDirectory) -> None:
        """Begin reading at most `limit` entries after `after`."""
        self._drop()
        self._started = True
        self._pending = (after, limit, self._pool.submit(_read_ahead, after, limit, directory))

    def take(self, after: int, limit: int) -> Batch | None:
        """The batch read ahead, if it is the full batch of `limit` entries after `after`."""
        if self._pending is None:
            return None
        started_after, started_limit, future = self._pending
        self._pending = None
        try:
            batch = future.result()
        except Exception:  # the transaction reads the entries itself
            logger.warning("reading ahead after entry %s failed", started_after, exc_info=True)
            return None
        if (started_after, started_limit) != (after, limit) or batch.count < limit:
            return None
        return batch

    def _drop(self) -> None:
        if self._pending is not None:
            self._pending[2].cancel()
            self._pending = None

    def close(self) -> None:
        """Stop reading ahead and close the thread's connection."""
        self._drop()
        if self._started:
            self._pool.submit(connections.close_all)  # in the thread: its own connection
        self._pool.shutdown(wait=True)


def _read_ahead(after: int, limit: int, directory: StaffDirectory) -> Batch:
    # This thread's own connection, outside any transaction: entries are read as committed.
    with connection.cursor() as cursor:
        cursor.execute(_ENTRIES_SQL, [after, limit])
        rows = cursor.fetchall()
    return _prepare(after, rows, directory)


class StaffDays:
    """Each department's staff members' request counts by day, as far as read: loaded from
    StaffDay for the (department, day) pairs a batch asks for, then kept equal to the table
    as the scan adds to it."""

    def __init__(self) -> None:
        self.counts: dict[int, dict[int, dict[dt.date, int]]] = defaultdict(dict)
        self.loaded: set[tuple[int, dt.date]] = set()

    def load(self, departments: set[int], first: dt.date, last: dt.date) -> None:
        """Read the pairs of these departments and days not read yet (one query)."""
        days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
        wanted = {(d, day) for d in departments for day in days} - self.loaded
        if not wanted:
            return
        rows = StaffDay.objects.filter(
            department_id__any_of=sorted({d for d, _ in wanted}),
            day__gte=min(day for _, day in wanted),
            day__lte=max(day for _, day in wanted),
        ).values_list("department_id", "staff_id", "day", "count")
        for dept, staff_id, day, count in rows:
            if (dept, day) in wanted:
                self.counts[dept].setdefault(staff_id, {})[day] = count
        self.loaded |= wanted

    def update(self, totals: dict[tuple[int, int, dt.date], int]) -> None:
        """The counts as they are now, by (staff, department, day), for the pairs read."""
        for (staff_id, dept, day), count in totals.items():
            if (dept, day) in self.loaded:
                self.counts[dept].setdefault(staff_id, {})[day] = count


def scan_run(
    *,
    max_batch: int = DEFAULT_BATCH,
    name: str = DEFAULT_SCANNER,
    session: ScanSession | None = None,
) -> ScanResult:
    """Judge the next batch of at most max_batch integrated entries after the watermark and
    record what the rules find, in one transaction with the watermark's advance.

    Returns busy (doing nothing) when another scanner holds the watermark. session lets a
    caller that runs many batches read what they share once.
    """
    ScanWatermark.objects.get_or_create(name=name)
    with _collector_paused(), transaction.atomic():
        watermark = (
            ScanWatermark.objects.select_for_update(skip_locked=True).filter(name=name).first()
        )
        if watermark is None:
            return ScanResult(0, -1, busy=True)
        after = watermark.last_seq
        batch = session.reader.take(after, max_batch) if session and session.reader else None
        if batch is None:
            with connection.cursor() as cursor:
                cursor.execute(_ENTRIES_SQL, [after, max_batch])
                rows = cursor.fetchall()
            if not rows:
                return ScanResult(0, after)
            session = session or ScanSession()
            batch = _prepare(after, rows, session.directory)
        assert session is not None  # a batch read ahead comes with its session
        if session.reader is not None and batch.count == max_batch:
            session.reader.start(batch.last_seq, max_batch, session.directory)
        opened, linked = _scan_batch(batch, session)
        watermark.last_seq = batch.last_seq
        watermark.entries += batch.count
        watermark.scanned_at = timezone.now()
        watermark.save(update_fields=["last_seq", "entries", "scanned_at"])
        return ScanResult(batch.count, watermark.last_seq, opened, linked)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector for a batch, resuming it after if it ran.

    A batch makes a few hundred thousand objects (rows, records, requests) that live until
    it ends and form no cycles: the collector would run some hundreds of times meanwhile and
    scan them again each time (bench scan: 10-30 % of the scanner's CPU). Reference counting
    frees them as before; anything cyclic waits for the collector's next run, after the batch.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def scan_until_caught_up(
    *, max_seconds: float = 45.0, max_batch: int = DEFAULT_BATCH, name: str = DEFAULT_SCANNER
) -> ScanResult:
    """Run scan_run until no entry is left, another scanner holds the watermark, or
    max_seconds have passed (the rest waits for the next run); returns the totals."""
    started = time.monotonic()
    session = ScanSession(read_ahead=connection.vendor == "postgresql")
    total = ScanResult(0, -1)
    try:
        while True:
            result = scan_run(max_batch=max_batch, name=name, session=session)
            total = ScanResult(
                total.scanned + result.scanned,
                result.last_seq if not result.busy else total.last_seq,
                total.alerts_opened + result.alerts_opened,
                total.entries_linked + result.entries_linked,
                result.busy,
            )
            if result.busy or result.scanned < max_batch:
                return total
            if time.monotonic() - started > max_seconds:
                return total
    finally:
        session.close()


# --- one batch ----------------------------------------------------------------------------------


def _prepare(after: int, rows: Sequence[tuple[int, str, str]], directory: StaffDirectory) -> Batch:
    """Read the entries of a batch that some rule reads (parse_leaf) into requests and facts;
    the others are passed over by their event type."""
    batch = Batch(after, len(rows), rows[-1][0] if rows else after)
    requests, facts = batch.requests, batch.facts
    for seq, event_type, leaf in rows:
        if event_type not in _READ_TYPES:
            continue
        try:
            record = parse_leaf(leaf)
        except EntryFieldError:
            batch.unreadable.append((seq, event_type))
            continue
        if record.event_type in ACCESS_TYPES:
            requests.append(_request(seq, record, directory))
        elif record.event_type in FACT_TYPES:
            facts.append((seq, record))
    return batch


def _fact_key(record: LedgerRecord) -> str:
    f = record.fields
    kind = record.event_type.split(".")[0]
    if kind == "batch":
        return engine.batch_key(str(f["batch"]))
    if kind == "consent":
        return engine.consent_key(
            record.subject, str(f["institution"]), str(f["affair"]), str(f["item"])
        )
    if kind == "assignment":
        return engine.assignment_key(str(f["staff"]), str(f["affair"]))
    if kind == "ordinance":
        return engine.ordinance_key(str(f["organization"]))
    return engine.nondisclosure_key(record.subject)


def _request(seq: int, record: LedgerRecord, directory: StaffDirectory) -> Request:
    # parse_leaf has checked every field against its schema: the text fields are strings.
    f: Any = record.fields
    return Request(
        seq,
        record.time,
        record.event_type,
        record.subject,
        directory.by_pseudonym.get(f.get("staff", "")),
        None,
        f.get("requester", ""),
        f.get("affair", ""),
        f.get("item", ""),
        f.get("outcome", ""),
        f.get("reason", ""),
        f.get("case", ""),
        f.get("batch", ""),
        f.get("terminal", ""),
        f.get("nondisclosure") is True,
        f.get("from_affair", ""),
    )


def _persons(requests: list[Request]) -> None:
    subjects = {r.subject for r in requests if r.subject}
    persons = persons_by_subject(subjects)
    if subjects - persons.keys():
        # Persons created since the last look: index them, then look again.
        subject_index_fill()
        persons.update(persons_by_subject(subjects - persons.keys()))
    for r in requests:
        r.person = persons.get(r.subject)


def _context(requests: list[Request], session: ScanSession) -> Context:
    pairs = session.consent_pairs
    org_codes = session.org_codes
    keys = (
        {
            k
            for r in requests
            for k in engine.fact_keys(r, org_codes.get(r.organization_id or 0, ""), pairs)
        }
        if session.has_facts
        else set()
    )
    consent_persons = [
        r.person.id for r in requests if r.person and not r.refused and (r.item, r.affair) in pairs
    ]
    # One read of every case of the batch's departments that includes one of its subjects:
    # it explains the requests that name no case, and holds the subject's membership of the
    # case a request names. Only a named case that the subject is not a member of is read
    # again, by its reference.
    joined = [r for r in requests if r.staff is not None and r.person is not None]
    # Cases closed before the batch's first request or opened after its last can explain
    # none of it, and are not read: (a case is a reason only while it is open).
    member_of = memberships(
        {r.person.id for r in joined if r.person},
        {r.staff.department_id for r in joined if r.staff},
        between=(min(r.at for r in requests), max(r.at for r in requests)),
    )
    # (person, case reference, department) of every membership read: whether a named case
    # is among the subject's, in one look-up per request.
    member_keys = {
        (person_id, m.reference, m.department_id)
        for person_id, cases in member_of.items()
        for m in cases
    }
    named = {
        (r.staff.institution_id, r.case_ref)
        for r in requests
        if r.staff is not None
        and r.case_ref
        and (r.person.id if r.person else 0, r.case_ref, r.staff.department_id) not in member_keys
    }
    return Context(
        directory=session.directory,
        config=session.config,
        watched=session.watched,
        consent_pairs=pairs,
        facts=facts_by_key(keys) if keys else {},
        cases_named=cases_by_reference(named),
        memberships=member_of,
        consents=consent_periods(consent_persons) if consent_persons else {},
    )


def _scan_batch(batch: Batch, session: ScanSession) -> tuple[int, int]:
    for seq, event_type in batch.unreadable:
        # The ledger admits only well-formed entries: this one was changed after the fact,
        # which audit_verify names. The scanner must not stop at it.
        logger.error("entry %s does not read back as a %s entry; skipped", seq, event_type)
    facts = batch.facts
    if facts:
        session.has_facts = True
        LedgerFact.objects.bulk_create(
            LedgerFact(
                seq=seq,
                event_type=r.event_type,
                key=_fact_key(r),
                at=r.time,
                fields=dict(r.fields),
            )
            for seq, r in facts
        )
    requests = batch.requests
    if not requests:
        return 0, 0
    _persons(requests)
    ctx = _context(requests, session)
    findings = engine.judge(requests, ctx, session.org_codes)
    totals = _observe(requests)
    session.days.update(totals)
    findings += _window_findings(requests, ctx, session, totals, (batch.after, batch.last_seq))
    return _record(findings)


def _observe(requests: list[Request]) -> dict[tuple[int, int, dt.date], int]:
    """Keep what the window rules need of each request, and add to each staff member's day
    count; returns the counts of the days touched, as they are now."""
    _insert_accesses(
        (
            r.seq,
            r.at,
            r.staff.id if r.staff else None,
            r.subject,
            r.terminal,
            r.by_batch,
            r.explained,
            r.restricted,
        )
        for r in requests
    )
    counts: dict[tuple[int, int, dt.date], int] = defaultdict(int)
    for r in requests:
        if r.staff is not None and not r.by_batch:
            counts[(r.staff.id, r.staff.department_id, r.day)] += 1
    if not counts:
        return {}
    # Add to each day's count (ON CONFLICT ... DO UPDATE adds), in one statement: on
    # PostgreSQL from four arrays, elsewhere as rows of placeholders.
    rows = [(s, d, day, n) for (s, d, day), n in counts.items()]
    upsert = (
        " ON CONFLICT (staff_id, day) DO UPDATE SET count = detection_staffday.count + "
        "excluded.count RETURNING staff_id, day, count"
    )
    now: dict[tuple[int, int, dt.date], int] = {}
    dept_of = {staff: dept for staff, dept, _ in counts}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "INSERT INTO detection_staffday (staff_id, department_id, day, count) "  # noqa: S608
                "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::int[])" + upsert,
                [list(column) for column in zip(*rows, strict=True)],
            )
            now.update(((s, dept_of[s], d), n) for s, d, n in cursor.fetchall())
            return now
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                "INSERT INTO detection_staffday (staff_id, department_id, day, count) "  # noqa: S608
                f"VALUES {values}" + upsert,
                [v for row in chunk for v in row],
            )
            for s, d, n in cursor.fetchall():
                day = d if isinstance(d, dt.date) else dt.date.fromisoformat(d)
                now[(s, dept_of[s], day)] = n
    return now


_ACCESS_COLUMNS = ("seq", "at", "staff", "subject", "terminal", "batch", "explained", "restricted")
# COPY's binary format, one type per column: the rows go in without being formatted as text.
_ACCESS_TYPES = ("int8", "timestamptz", "int8", "varchar", "varchar", "bool", "bool", "bool")


def _insert_accesses(rows: Iterable[tuple[object, ...]]) -> None:
    if connection.vendor != "postgresql":
        insert_rows(Access, _ACCESS_COLUMNS, rows)
        return
    columns = "seq, at, staff_id, subject, terminal, batch, explained, restricted"
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY detection_access ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(_ACCESS_TYPES)
        for row in rows:
            copy.write_row(row)


_SEEN = ("seq", "ts", "staff_id", "subject", "terminal", "restricted")


def _seen(qs: QuerySet[Access]) -> list[Seen]:
    """The rows of qs as the window rules see them, times in seconds (computed by PostgreSQL:
    Django's aware timestamp loader runs in Python, and these rows are many)."""
    if connection.vendor == "postgresql":
        # Of the UTC time: Extract takes a timestamp in the current time zone (Tokyo), whose
        # epoch would be nine hours late.
        epoch = Cast(Extract("at", "epoch", tzinfo=dt.UTC), FloatField())
        return [Seen(*row) for row in qs.annotate(ts=epoch).values_list(*_SEEN)]
    return [
        Seen(seq, at.timestamp(), staff, subject, terminal, restricted)
        for seq, at, staff, subject, terminal, restricted in qs.values_list(
            "seq", "at", "staff_id", "subject", "terminal", "restricted"
        )
    ]


def _window_findings(
    requests: list[Request],
    ctx: Context,
    session: ScanSession,
    totals: dict[tuple[int, int, dt.date], int],
    seqs: tuple[int, int],
) -> list[Finding]:
    on = ctx.config.on
    candidates = [r for r in requests if r.staff is not None and not r.by_batch]
    if not candidates:
        return []
    triggers = {r.seq for r in candidates}
    staff_of = session.staff_of

    findings: list[Finding] = []
    first = min(r.at for r in candidates)
    last = max(r.at for r in candidates)
    subject_rules = [c for c in ("behaviour.many_staff", "behaviour.repeat_subject") if on(c)]
    subjects = {r.subject for r in candidates if r.subject}
    if subject_rules and subjects:
        reach = max(
            dt.timedelta(minutes=ctx.config.param(c, "window_minutes")) for c in subject_rules
        )
        by_subject: dict[str, list[Seen]] = defaultdict(list)
        for seen in _subject_rows(ctx, subjects, first - reach, last + reach, seqs):
            by_subject[seen.subject].append(seen)
        if on("behaviour.many_staff"):
            findings += engine.many_staff(by_subject, triggers, ctx, staff_of)
        if on("behaviour.repeat_subject"):
            findings += engine.repeat_subject(by_subject, triggers, ctx, staff_of)
    code = "behaviour.multi_terminal"
    with_terminal = {r.staff.id for r in candidates if r.terminal and r.staff}
    if on(code) and with_terminal:
        gap = dt.timedelta(minutes=ctx.config.param(code, "gap_minutes"))
        by_staff: dict[int, list[Seen]] = defaultdict(list)
        for seen in _terminal_rows(with_terminal, first - gap, last + gap, gap):
            by_staff[seen.staff_id or 0].append(seen)
        findings += engine.multi_terminal(by_staff, triggers, ctx, staff_of)
    if on("behaviour.volume"):
        findings += _volume(ctx, session, totals)
    return findings


# Window bounds in SQL are widened by this much, so that the rows they pass are a superset
# of those the rules (comparing times as float seconds) could count in a window.
_SLACK = dt.timedelta(seconds=1)

# The rows of each subject that the subject windows (many_staff, repeat_subject) can fire on:
# at least `least` requests about the subject within `span`, or `least_staff` within
# `span_staff` (necessary for either rule: distinct staff members, or one staff member's
# requests, are never more than the requests; both counts in one sort), and a request of
# this batch among them (a finding needs one). The rules then judge exactly these rows.
_SUBJECT_ROWS_SQL = """
WITH near AS (
    SELECT seq, at, staff_id, subject, terminal, restricted FROM detection_access
    WHERE at >= %(start)s AND at <= %(end)s AND NOT batch AND subject <> ''
), counted AS (
    SELECT subject, seq, staff_id,
        count(*) OVER (PARTITION BY subject ORDER BY at
                       RANGE BETWEEN %(span)s PRECEDING AND CURRENT ROW) AS n,
        count(*) OVER (PARTITION BY subject ORDER BY at
                       RANGE BETWEEN %(span_staff)s PRECEDING AND CURRENT ROW) AS n_staff
    FROM near
), hot AS (
    SELECT subject FROM counted GROUP BY subject
    HAVING (max(n) >= %(least)s OR max(n_staff) >= %(least_staff)s)
       AND bool_or(seq > %(after)s AND seq <= %(last)s AND staff_id IS NOT NULL)
)
SELECT n.seq, extract(epoch FROM n.at)::float8, n.staff_id, n.subject, n.terminal, n.restricted
FROM near n JOIN hot USING (subject)
ORDER BY n.subject, n.at, n.seq
"""

# The rows of each account the terminal rule can fire on: two consecutive requests from
# different terminals within the gap (two from different terminals within it imply such a
# consecutive pair). Every account asked about has a request of this batch among them.
_TERMINAL_ROWS_SQL = """
WITH near AS (
    SELECT seq, at, staff_id, subject, terminal, restricted FROM detection_access
    WHERE at >= %(start)s AND at <= %(end)s AND NOT batch AND terminal <> ''
      AND staff_id = ANY(%(staff)s)
), paired AS (
    SELECT staff_id, seq,
        terminal <> lag(terminal) OVER w AND at - lag(at) OVER w <= %(gap)s AS overlapping
    FROM near WINDOW w AS (PARTITION BY staff_id ORDER BY at, seq)
), hot AS (
    SELECT staff_id FROM paired GROUP BY staff_id HAVING bool_or(overlapping)
)
SELECT n.seq, extract(epoch FROM n.at)::float8, n.staff_id, n.subject, n.terminal, n.restricted
FROM near n JOIN hot USING (staff_id)
ORDER BY n.staff_id, n.at, n.seq
"""

_NEVER = 2**31 - 1  # a count no window reaches: the rule is off


def _subject_rows(
    ctx: Context,
    subjects: set[str],
    start: dt.datetime,
    end: dt.datetime,
    seqs: tuple[int, int],
) -> list[Seen]:
    """Requests (not of batch queries) between start and end about the subjects that the
    subject windows could fire on, by subject, time and sequence number."""
    config = ctx.config
    many, repeat = "behaviour.many_staff", "behaviour.repeat_subject"
    near = Access.objects.filter(at__gte=start, at__lte=end, batch=False)
    if connection.vendor != "postgresql":
        # Only subjects queried often enough in the reach can make either rule fire
        # (distinct staff members are never more than the requests).
        least = min(
            config.param(c, "min_staff" if c == many else "min_count")
            for c in (many, repeat)
            if config.on(c)
        )
        hot = list(
            near.filter(subject__any_of=sorted(subjects))
            .values("subject")
            .annotate(n=Count("seq"))
            .filter(n__gte=least)
            .values_list("subject", flat=True)
        )
        return _seen(near.filter(subject__any_of=hot).order_by("subject", "at", "seq"))
    return _seen_sql(
        _SUBJECT_ROWS_SQL,
        {
            "start": start,
            "end": end,
            "span": dt.timedelta(minutes=config.param(many, "window_minutes")) + _SLACK,
            "least": config.param(many, "min_staff") if config.on(many) else _NEVER,
            "span_staff": dt.timedelta(minutes=config.param(repeat, "window_minutes")) + _SLACK,
            "least_staff": config.param(repeat, "min_count") if config.on(repeat) else _NEVER,
            "after": seqs[0],
            "last": seqs[1],
        },
    )


def _terminal_rows(
    staff: set[int], start: dt.datetime, end: dt.datetime, gap: dt.timedelta
) -> list[Seen]:
    """Requests with a terminal (not of batch queries) between start and end of the accounts
    that the terminal rule could fire on, by staff member, time and sequence number."""
    near = Access.objects.filter(at__gte=start, at__lte=end, batch=False).exclude(terminal="")
    if connection.vendor != "postgresql":
        # Only accounts seen on two terminals or more in the reach are read.
        hot_staff = list(
            near.filter(staff_id__any_of=sorted(staff))
            .values("staff_id")
            .annotate(t=Count("terminal", distinct=True))
            .filter(t__gte=2)
            .values_list("staff_id", flat=True)
        )
        return _seen(near.filter(staff_id__any_of=hot_staff).order_by("staff_id", "at", "seq"))
    return _seen_sql(
        _TERMINAL_ROWS_SQL,
        {"start": start, "end": end, "staff": sorted(staff), "gap": gap + _SLACK},
    )


def _seen_sql(sql: str, params: dict[str, Any]) -> list[Seen]:
    """The rows of a statement selecting Seen's columns, times in seconds."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Seen(*row) for row in cursor.fetchall()]


def _volume(
    ctx: Context, session: ScanSession, totals: dict[tuple[int, int, dt.date], int]
) -> list[Finding]:
    code = "behaviour.volume"
    span = dt.timedelta(days=ctx.config.param(code, "baseline_days"))
    least = ctx.config.param(code, "min_count")
    # A day below min_count never fires: only the others are judged, against the weeks
    # around the day, before and after it (entries do not arrive in time order: a late
    # batch of history, a day scanned again).
    touched = sorted(key for key, count in totals.items() if count >= least)
    if not touched:
        return []
    days = session.days
    days.load(
        {dept for _, dept, _ in touched},
        min(day for _, _, day in touched) - span,
        max(day for _, _, day in touched) + span,
    )
    levels: dict[tuple[int, dt.date], dict[int, float | None]] = {}
    findings: list[Finding] = []
    for staff_id, dept, day in touched:
        if (dept, day) not in levels:  # each department's levels once per day judged
            start, end = day - span, day + span
            levels[(dept, day)] = {
                s: engine.usual_level(
                    {d: n for d, n in history.items() if start <= d <= end and d != day}
                )
                for s, history in days.counts[dept].items()
            }
        around = levels[(dept, day)]
        verdict = engine.volume_verdict(
            count=totals[(staff_id, dept, day)],
            own=around.get(staff_id),
            peers=engine.median_level(lv for s, lv in around.items() if s != staff_id),
            min_count=least,
            factor=ctx.config.param(code, "factor"),
        )
        if not verdict.fires:
            continue
        start_of_day = dt.datetime.combine(day, dt.time(0), TOKYO)
        seen = _seen(
            Access.objects.filter(
                staff_id=staff_id,
                at__gte=start_of_day,
                at__lt=start_of_day + dt.timedelta(days=1),
                batch=False,
            ).order_by("at", "seq")
        )
        staff = session.staff_of(staff_id)
        for is_restricted in (False, True):
            part = [s for s in seen if s.restricted == is_restricted]
            if part:
                findings.append(
                    Finding(
                        code,
                        tuple((s.seq, s.at) for s in part),
                        staff,
                        "",
                        staff.organization_id if staff else None,
                        day,
                        is_restricted,
                    )
                )
    return findings


# --- alerts --------------------------------------------------------------------------------------


def dedupe_key(finding: Finding) -> str:
    """The alert a finding belongs to: its rule, whom it is about (by the rule's grouping),
    the requesting organisation, the day, and whether it concerns 不開示 persons (those
    alerts are kept apart: they go to national auditors only)."""
    group = RULES[finding.rule].group_by
    staff = finding.staff.pseudonym if finding.staff and group != GroupBy.SUBJECT else ""
    subject = finding.subject if group != GroupBy.STAFF else ""
    scope = "R" if finding.restricted else "O"
    return (
        f"{finding.rule}|{staff}|{subject}|{finding.organization_id or 0}|"
        f"{finding.day.isoformat()}|{scope}"
    )


# The columns of a new alert, in insert_rows' order (_record).
_ALERT_COLUMNS = (
    "rule",
    "family",
    "severity",
    "status",
    "dismiss_reason",
    "organization",
    "staff",
    "staff_pseudonym",
    "subject",
    "restricted",
    "day",
    "dedupe_key",
    "first_at",
    "last_at",
    "entry_count",
    "created_at",
    "updated_at",
)


def _record(findings: list[Finding]) -> tuple[int, int]:
    """Open or extend the alerts of these findings and link their entries; queue the
    immediate mails of newly opened high-severity alerts. Returns (opened, links added)."""
    if not findings:
        return 0, 0
    now = timezone.now()
    by_key: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_key[dedupe_key(finding)].append(finding)
    alert_ids: dict[str, int] = {}
    counted_before = 0
    for key, pk, count in Alert.objects.filter(dedupe_key__any_of=list(by_key)).values_list(
        "dedupe_key", "pk", "entry_count"
    ):
        alert_ids[key] = pk
        counted_before += count
    # New alerts as rows (the model's defaults spelled out): the ORM's bulk_create compiles
    # a placeholder per value, which cost more than the rest of this function.
    new: list[tuple[str, int | None, bool, bool]] = []  # key, organisation, restricted, high
    rows: list[tuple[object, ...]] = []
    for key, group in by_key.items():
        if key in alert_ids:
            continue
        f = group[0]
        rule = RULES[f.rule]
        ats = [at for g in group for _, at in g.rows]
        per_staff = rule.group_by != GroupBy.SUBJECT
        new.append((key, f.organization_id, f.restricted, rule.severity == Severity.HIGH))
        rows.append(
            (  # choices as their plain values: the driver would write an enum's name
                rule.code,
                str(rule.family),
                str(rule.severity),
                str(AlertStatus.NEW),
                "",
                f.organization_id,
                f.staff.id if f.staff and per_staff else None,
                f.staff.pseudonym if f.staff and per_staff else "",
                f.subject if rule.group_by != GroupBy.STAFF else "",
                f.restricted,
                f.day,
                key,
                min(ats),
                max(ats),
                0,
                now,
                now,
            )
        )
    new_ids = insert_rows(Alert, _ALERT_COLUMNS, rows, return_ids=True) if rows else []
    alert_ids.update((n[0], pk) for n, pk in zip(new, new_ids, strict=True))
    _link(
        {
            (alert_ids[key], seq): at
            for key, group in by_key.items()
            for f in group
            for seq, at in f.rows
        },
        now,
    )
    touched = sorted(alert_ids.values())
    # One statement recounts every touched alert from its links (a link is added only once).
    links = AlertEntry.objects.filter(alert_id=OuterRef("pk"))
    Alert.objects.filter(pk__any_of=touched).update(
        entry_count=Subquery(links.values("alert_id").annotate(n=Count("id")).values("n")),
        first_at=Subquery(links.order_by("at").values("at")[:1]),
        last_at=Subquery(links.order_by("-at").values("at")[:1]),
        updated_at=now,
    )
    counted = Alert.objects.filter(pk__any_of=touched).aggregate(n=Sum("entry_count"))["n"] or 0
    high = [
        (pk, org, restricted) for (_, org, restricted, h), pk in zip(new, new_ids, strict=True) if h
    ]
    if high:
        book = OfficerBook()
        # Only alerts that someone is to be told about are read back as models.
        told = [
            pk
            for pk, organization_id, restricted in high
            if book.officers_for(organization_id=organization_id, restricted=restricted)
        ]
        for alert in Alert.objects.filter(pk__any_of=told).select_related("organization"):
            alert_mails_enqueue(alert=alert, book=book)
    return len(new_ids), counted - counted_before


def _link(links: dict[tuple[int, int], dt.datetime], now: dt.datetime) -> None:
    """Link entries to alerts, each (alert, entry) once, however often it is found."""
    if connection.vendor != "postgresql":
        AlertEntry.objects.bulk_create(
            [AlertEntry(alert_id=a, seq=s, at=at, linked_at=now) for (a, s), at in links.items()],
            ignore_conflicts=True,
        )
        return
    with connection.cursor() as cursor:
        # Three arrays, one statement: no placeholder per row to build and bind.
        cursor.execute(
            "INSERT INTO detection_alertentry (alert_id, seq, at, linked_at) "
            "SELECT a, s, t, %s FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[]) "
            "AS u(a, s, t) ON CONFLICT (alert_id, seq) DO NOTHING",
            [
                now,
                [a for a, _ in links],
                [s for _, s in links],
                list(links.values()),
            ],
        )
