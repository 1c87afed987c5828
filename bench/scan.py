"""`manage.py bench scan`: the detection scanner's rate of rule evaluation over a large ledger,
against a plain read of the same entries in the same run.

In the scratch database: the demo world (residents in households, staff, cases with their
members, consents), then --entries linkage.request entries as the network writes them, most
under an open case of the clerk's department about one of its members, some about anyone,
some refused, some at night, a few terminals shared, in time order over working days; the
real sequencer integrates them. Then, --repeat times, alternating:
- plain read: the scanner's own query, batch by batch, rows fetched and nothing else;
- scan: the scanner from a fresh watermark to the end (parse_leaf, joins, every rule, the
  observations, alerts and mails written), its tables emptied before each run.
Figures are for docs/benchmarks.md; never a test.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction

from agencies.models import (
    Affair,
    Case,
    CaseMember,
    InformationItem,
    Institution,
    LinkageRule,
    Person,
    StaffMember,
    StaffRole,
)
from audit.entries import subject_pseudonym
from audit.ledger import INTAKE_COLUMNS, entry_prepare, ledger_integrate
from audit.models import LedgerEntry, LedgerIntake
from audit.selectors import AUDITORS_GROUP
from core.calendar import TOKYO, is_working_day, office_minutes, office_moment
from core.db import insert_rows
from core.models import OutboxMessage
from detection.models import (
    Access,
    Alert,
    AlertEntry,
    LedgerFact,
    PrivacyOfficer,
    ScanWatermark,
    StaffDay,
)
from detection.scanner import _ENTRIES_SQL, scan_until_caught_up

Say = Callable[[str], None]

# What share of the synthetic requests is what: mostly explained, a little of everything else.
CASELESS = 0.03
REFUSED = 0.01
NIGHT = 0.002
SHARED_TERMINAL = 0.001


def _world(residents: int, say: Say) -> None:
    if StaffMember.objects.exists():
        return
    started = time.perf_counter()
    call_command(
        "seed_demo",
        "--residents",
        str(residents),
        "--no-progress",
        "--api-keys-file",
        "/dev/null",
        stdout=open("/dev/null", "w"),  # noqa: SIM115 - closed with the process
    )
    say(f"demo world of {residents:,} residents loaded in {time.perf_counter() - started:.0f} s")


def _working_days(first: dt.date, count: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = first
    while len(days) < count:
        if is_working_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


DAYS = 250  # a year of working days
FIRST_DAY = dt.date(2025, 4, 1)


def _cases(rng: random.Random, count: int, say: Say) -> None:
    """`count` cases of the clerks' departments and affairs over the year, each about one
    household (its members), open for 20 to 60 days: what a year of counters opens."""
    if Case.objects.filter(reference__startswith="B-").exists():
        return
    started = time.perf_counter()
    households: dict[int, list[int]] = defaultdict(list)
    for pk, household in Person.objects.exclude(household=None).values_list("pk", "household"):
        households[household].append(pk)
    groups = list(households.values())
    scopes = []
    for dept, affairs in _department_affairs().items():
        scopes += [(dept, a) for a in affairs]
    days = _working_days(FIRST_DAY - dt.timedelta(days=60), DAYS + 45)
    rows, members = [], []
    for n in range(count):
        dept, affair = rng.choice(scopes)
        people = rng.choice(groups)[:4]
        opened = office_moment(rng.choice(days), rng.randrange(office_minutes()))
        closed = opened + dt.timedelta(days=rng.randint(20, 60))
        rows.append((affair, dept, f"B-{n:07d}", people[0], opened, closed))
        members.append(people)
    ids = insert_rows(
        Case,
        ("affair", "department", "reference", "applicant", "opened_at", "closed_at"),
        rows,
        return_ids=True,
    )
    insert_rows(
        CaseMember,
        ("case", "person", "role"),
        (
            (case_id, person, "世帯員")
            for case_id, people in zip(ids, members, strict=True)
            for person in people
        ),
    )
    say(f"{count:,} cases of households written in {time.perf_counter() - started:.0f} s")


def _department_affairs() -> dict[int, set[int]]:
    through = StaffMember.assigned_affairs.through
    out: dict[int, set[int]] = defaultdict(set)
    for dept, affair in through.objects.filter(staffmember__role=StaffRole.CLERK).values_list(
        "staffmember__department_id", "affair_id"
    ):
        out[dept].add(affair)
    return out


def _entries(total: int, seed: int) -> Iterator[tuple[object, ...]]:
    """Intake rows of `total` linkage.request entries over DAYS working days, in time order:
    each by a clerk about a member of an open case of their department (its affair, a
    permitted item), except for the shares above. Everything is read before the first row
    is made: the rows are streamed into COPY on the same connection."""
    rng = random.Random(seed)  # noqa: S311 - synthetic traffic
    pseudonyms = {
        pk: subject_pseudonym(str(public_id))
        for pk, public_id in Person.objects.values_list("pk", "public_id").iterator(10000)
    }
    everyone = list(pseudonyms.values())
    codes = dict(Institution.objects.values_list("pk", "code"))
    affair_codes = dict(Affair.objects.values_list("pk", "code"))
    items: dict[int, list[str]] = defaultdict(list)
    # Items that need the person's consent are left out: a clerk asks for them with one.
    needs_consent = set(
        InformationItem.consent_affairs.through.objects.values_list(
            "informationitem_id", "affair_id"
        )
    )
    for affair_id, item_id, item in LinkageRule.objects.values_list(
        "affair_id", "item_id", "item__code"
    ):
        if (item_id, affair_id) not in needs_consent:
            items[affair_id].append(item)
    clerks = [
        (
            s.pk,
            s.audit_pseudonym,
            s.department_id,
            codes[s.institution_id],
            f"T{s.pk}",
            set(s.assigned_affairs.values_list("pk", flat=True)),
        )
        for s in StaffMember.objects.filter(role=StaffRole.CLERK)
    ]
    # department -> (opened, closed, ref, affair, members); bench cases are always closed
    cases: dict[int, list[tuple[dt.datetime, dt.datetime, str, int, list[int]]]] = defaultdict(list)
    members: dict[int, list[int]] = defaultdict(list)
    for case_id, person in CaseMember.objects.filter(case__reference__startswith="B-").values_list(
        "case_id", "person_id"
    ):
        members[case_id].append(person)
    for pk, dept, ref, affair, opened, closed in Case.objects.filter(
        reference__startswith="B-"
    ).values_list("pk", "department_id", "reference", "affair_id", "opened_at", "closed_at"):
        cases[dept].append((opened, closed or opened, ref, affair, members[pk]))
    return _generate(total, rng, pseudonyms, everyone, codes, affair_codes, items, clerks, cases)


def _generate(
    total: int,
    rng: random.Random,
    pseudonyms: dict[int, str],
    everyone: list[str],
    codes: dict[int, str],
    affair_codes: dict[int, str],
    items: dict[int, list[str]],
    clerks: list[tuple[int, str, int, str, str, set[int]]],
    cases: dict[int, list[tuple[dt.datetime, dt.datetime, str, int, list[int]]]],
) -> Iterator[tuple[object, ...]]:
    providers = list(codes.values())
    per_day = -(-total // DAYS)
    made = 0
    for d in _working_days(FIRST_DAY, DAYS):
        opens, closes = office_moment(d, 0), office_moment(d, office_minutes() + 60)
        open_today = {
            dept: [c for c in cs if c[0] <= opens and closes < c[1]] for dept, cs in cases.items()
        }
        busy = [c for c in clerks if any(x[3] in c[5] for x in open_today.get(c[2], ()))]
        for second in sorted(rng.randrange(office_minutes() * 60) for _ in range(per_day)):
            if made >= total:
                return
            _, staff, dept, requester, terminal, affairs = rng.choice(busy)
            mine = [c for c in open_today[dept] if c[3] in affairs]
            _, _, ref, affair, people = rng.choice(mine)
            when = office_moment(d, 0) + dt.timedelta(seconds=second)
            fields: dict[str, object] = {
                "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "requester": requester,
                "provider": rng.choice(providers),
                "affair": affair_codes[affair],
                "item": rng.choice(items.get(affair) or ["TM00000000000001"]),
                "staff": staff,
                "outcome": rng.choice(("provided", "provided", "not_found")),
                "nondisclosure": False,
                "terminal": terminal,
                "case": ref,
            }
            subject = pseudonyms[rng.choice(people)]
            if rng.random() < CASELESS:
                subject = rng.choice(everyone)
                del fields["case"]
            if rng.random() < REFUSED:
                fields["outcome"], fields["reason"] = "refused", "not_in_permitted_table"
            if rng.random() < NIGHT:
                when = dt.datetime.combine(d, dt.time(23, rng.randrange(60)), TOKYO)
            if rng.random() < SHARED_TERMINAL:
                fields["terminal"] = "REMOTE-77"
            made += 1
            yield entry_prepare(
                event_type="linkage.request", fields=fields, subject=subject, moment=when
            ).values


def build_ledger(*, entries: int, residents: int, cases: int, say: Say) -> None:
    """The demo world, a year of cases and `entries` request entries, integrated (kept with
    --keep)."""
    _world(residents, say)
    _cases(random.Random(1), cases, say)  # noqa: S311 - synthetic cases
    have = LedgerIntake.objects.filter(event_type="linkage.request").count()
    if have < entries:
        started = time.perf_counter()
        insert_rows(LedgerIntake, INTAKE_COLUMNS, _entries(entries - have, seed=have))
        written = LedgerIntake.objects.filter(event_type="linkage.request").count() - have
        say(f"wrote {written:,} intake rows in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    integrated = 0
    while result := ledger_integrate(max_batch=50_000):
        if not result.integrated:
            break
        integrated += result.integrated
    if integrated:
        say(f"integrated {integrated:,} entries in {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _plain_read(batch: int) -> tuple[int, float]:
    """The scanner's query, batch by batch to the end, rows fetched and dropped."""
    started = time.perf_counter()
    last, count = -1, 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(_ENTRIES_SQL, [last, batch])
            rows = cursor.fetchall()
            if not rows:
                break
            count += len(rows)
            last = rows[-1][0]
    return count, time.perf_counter() - started


def _reset() -> None:
    """Empty what a scan writes, so that every run scans the same ledger from scratch."""
    with transaction.atomic():
        for model in (Alert, Access, StaffDay, LedgerFact, OutboxMessage):
            model.objects.all().delete()
        ScanWatermark.objects.filter(name__startswith="bench-").delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE detection_access")


def _scan(batch: int, run: int) -> tuple[int, float, int, float]:
    started, cpu = time.perf_counter(), time.process_time()
    scanned = opened = 0
    while True:
        result = scan_until_caught_up(max_seconds=3600, max_batch=batch, name=f"bench-{run}")
        scanned += result.scanned
        opened += result.alerts_opened
        if result.scanned < batch:
            break
    return scanned, time.perf_counter() - started, opened, time.process_time() - cpu


def bench_scan(
    *, entries: int, residents: int, cases: int, batch: int, repeat: int, say: Say
) -> None:
    """Build the ledger, then alternate a plain read and a full scan `repeat` times."""
    build_ledger(entries=entries, residents=residents, cases=cases, say=say)
    # Mails are composed and queued by the outbox, not measured here: nothing may leave the
    # scratch database for a broker or a mail server.
    PrivacyOfficer.objects.all().delete()
    get_user_model().objects.filter(groups__name=AUDITORS_GROUP).update(email="")
    size = LedgerEntry.objects.count()
    members = Person.objects.count()
    say(
        f"ledger of {size:,} entries; {members:,} residents, "
        f"{StaffMember.objects.filter(role=StaffRole.CLERK).count()} clerks, "
        f"{_count('agencies_case'):,} cases, {_count('agencies_household'):,} households"
    )
    reads, scans = [], []
    found: set[tuple[int, int]] = set()
    for run in range(1, repeat + 1):
        count, seconds = _plain_read(batch)
        reads.append(count / seconds)
        _reset()
        scanned, scan_seconds, opened, cpu = _scan(batch, run)
        scans.append(scanned / scan_seconds)
        load = os.getloadavg()[0]
        links = AlertEntry.objects.count()
        found.add((opened, links))
        say(
            f"run {run}: plain read {count:,} entries in {seconds:.1f} s = {reads[-1]:,.0f}/s; "
            f"scan {scanned:,} entries in {scan_seconds:.1f} s = {scans[-1]:,.0f}/s "
            f"({opened:,} alerts, {links:,} entries linked; this process's CPU {cpu:.1f} s = "
            f"{scanned / cpu:,.0f} entries per CPU second); ratio {scans[-1] / reads[-1]:.3f}; "
            f"load average {load:.1f}"
        )
    if len(found) > 1:
        say(f"the runs disagree on what they found (alerts, links): {sorted(found)}")
    read, scan = statistics.median(reads), statistics.median(scans)
    say(
        f"median of {repeat}: scan {scan:,.0f} entries/s, plain read {read:,.0f} entries/s, "
        f"ratio {scan / read:.3f} (batches of {batch:,})"
    )


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our own table names
        return int(cursor.fetchone()[0])
