"""manage.py bench dashboard: the auditors' entry search and alert queue on a large log.

A log of `size` entries of a realistic mix (20 organisations, 40 requesting institutions, 50
staff members, 250,000 residents of whom one has `records` entries, cases of about 17
entries, outcomes in the demo's proportions, 0.2 % 不開示, two years), sequenced by the real
sequencer and indexed by the real indexer, with 10,000 alerts linked to its entries; then
each kind of search and the alert queue with a few filters, through Django's whole
stack in this process (test client: middleware, session, view, ledger entry of the look,
template), as a national auditor and as a privacy officer. Figures for docs/benchmarks.md;
never a test.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.utils import timezone

from agencies.codes import with_local_government_check_digit
from agencies.models import (
    Affair,
    Department,
    InformationItem,
    Institution,
    InstitutionKind,
    LegalBasis,
    Organization,
    StaffMember,
)
from audit.ledger import INTAKE_COLUMNS, entry_prepare, ledger_integrate
from audit.models import LedgerEntry, LedgerIntake
from audit.selectors import AUDITORS_GROUP
from bench.ledger import percentile
from core.db import insert_rows
from dashboard.indexer import index_all, indexed_up_to
from dashboard.services import privacy_officer_appoint
from detection.models import Alert, AlertEntry, AlertStatus, DismissReason, PrivacyOfficer
from detection.rules import RULES

Say = Callable[[str], None]
TARGET_MS = 150.0
ORGANIZATIONS = 20
INSTITUTIONS_PER_ORG = 2
PROVIDERS = 10
STAFF = 50
RESIDENTS = 250_000
ALERTS = 10_000
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# The demo's proportions of outcomes (docs/domain.md): most answers are "no record".
_OUTCOMES = ["provided"] * 56 + ["not_found"] * 40 + ["held"] * 2 + ["refused"] * 2


@dataclass
class BenchLog:
    size: int
    subject: str  # the resident with `records` entries
    subjects: list[str]  # a sample of other residents
    cases: list[str]
    organization: str  # the privacy officer's


def _pseudonym(rng: random.Random) -> str:
    # Synthetic pseudonyms in the ledger's form (SJ + 24 base32).
    return "SJ" + "".join(rng.choice(_ALPHABET) for _ in range(24))


def _request_id(n: int) -> str:
    return str(uuid.UUID(int=n + 1, version=4))


def _world() -> tuple[list[Institution], list[Institution], list[str]]:
    requesters, providers = [], []
    for o in range(ORGANIZATIONS):
        org = Organization.objects.create(
            code=with_local_government_check_digit(f"{10100 + o * 7:05d}"),
            kind="municipality",
            name=f"検証市{o}",
        )
        for i in range(INSTITUTIONS_PER_ORG):
            requesters.append(
                Institution.objects.create(
                    organization=org,
                    code=f"{org.code}{i + 1:010d}",
                    kind=InstitutionKind.MUNICIPALITY_HEAD,
                    name=f"機関{i}",
                    capacities=["municipality_head"],
                )
            )
    national = Organization.objects.create(
        code=with_local_government_check_digit("99015"), kind="national", name="検証機構"
    )
    for p in range(PROVIDERS):
        providers.append(
            Institution.objects.create(
                organization=national,
                code=f"99015{p + 1:011d}",
                kind=InstitutionKind.PENSION_SERVICE,
                name=f"提供機関{p}",
                capacities=["pension_service"],
            )
        )
    for a in range(10):
        Affair.objects.create(
            code=f"JT{a + 1:014d}", name=f"検証事務{a}", basis=LegalBasis.STATUTORY
        )
        InformationItem.objects.create(code=f"TM{a + 1:014d}", name=f"検証情報{a}", category="x")
    users = get_user_model().objects
    staff = []
    for s in range(STAFF):
        institution = requesters[s % len(requesters)]
        department, _ = Department.objects.get_or_create(
            institution=institution, code=f"D{s % 5}", defaults={"name": f"課{s % 5}"}
        )
        user = users.create(username=f"bench.staff{s}", password="!")  # noqa: S106
        staff.append(
            StaffMember.objects.create(
                user=user, institution=institution, department=department
            ).audit_pseudonym
        )
    return requesters, providers, staff


def build(*, size: int, records: int, say: Say) -> BenchLog:
    """The world and a log of `size` entries, sequenced and indexed; with --keep, a log built
    before is used again (and the index brought up to it)."""
    # The residents and the searched one are the same for every build of this size, so that a
    # kept log can be searched without remembering anything.
    names = random.Random(f"residents-{size}")  # noqa: S311 - synthetic data
    residents = [_pseudonym(names) for _ in range(RESIDENTS)]
    target = _pseudonym(names)
    officer_org = Organization.objects.filter(name="検証市0").values_list("code", flat=True).first()
    if officer_org is not None and LedgerIntake.objects.count() >= size:
        say(f"using the log of {LedgerIntake.objects.count()} entries built before (--keep)")
    elif officer_org is not None:
        raise RuntimeError(
            f"the kept scratch database holds a smaller log ({LedgerIntake.objects.count()} "
            "entries) built for another --size: run once without --keep to start afresh"
        )
    else:
        rng = random.Random(size)  # noqa: S311 - synthetic data
        requesters, providers, staff = _world()
        staff_of: dict[str, list[str]] = {i.code: [] for i in requesters}
        for member in StaffMember.objects.select_related("institution"):
            staff_of[member.institution.code].append(member.audit_pseudonym)
        every = max(1, size // records)
        now = timezone.now()
        started = time.perf_counter()

        def rows():  # type: ignore[no-untyped-def]
            for n in range(size):
                requester = requesters[rng.randrange(len(requesters))]
                candidates = staff_of[requester.code] or staff
                outcome = rng.choice(_OUTCOMES)
                fields: dict[str, object] = {
                    "request_id": _request_id(n),
                    "requester": requester.code,
                    "provider": providers[rng.randrange(PROVIDERS)].code,
                    "affair": f"JT{rng.randrange(10) + 1:014d}",
                    "item": f"TM{rng.randrange(10) + 1:014d}",
                    "staff": candidates[rng.randrange(len(candidates))],
                    "outcome": outcome,
                    "nondisclosure": rng.random() < 0.002,
                }
                if rng.random() < 0.6:
                    fields["case"] = f"C{requester.code[:6]}-{n // 17}"
                if outcome == "refused":
                    fields["reason"] = "not_in_permitted_table"
                yield entry_prepare(
                    event_type="linkage.request",
                    fields=fields,
                    subject=target if n % every == every - 1 else rng.choice(residents),
                    moment=now - dt.timedelta(seconds=(size - n) * 63_072_000 // size),
                ).values

        insert_rows(LedgerIntake, INTAKE_COLUMNS, rows())
        say(f"built {size} intake rows in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        while ledger_integrate(max_batch=50_000).integrated:
            pass
        say(f"integrated and signed in {time.perf_counter() - started:.0f} s")
        officer_org = requesters[0].organization.code
    started = time.perf_counter()
    indexed = sum(index_all(max_batch=50_000))
    if indexed:
        elapsed = time.perf_counter() - started
        say(f"indexed {indexed} entries in {elapsed:.0f} s ({indexed / elapsed:,.0f}/s)")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    # Cases as an auditor would know them: from requests spread over the log.
    leaves = LedgerIntake.objects.filter(
        lookup_key__in=[_request_id(n) for n in range(0, size, max(1, size // 400))]
    ).values_list("leaf", flat=True)
    cases = [c for c in (json.loads(leaf).get("case") for leaf in leaves) if c]
    return BenchLog(
        size=LedgerEntry.objects.count(),
        subject=target,
        subjects=residents[:500],
        cases=cases,
        organization=officer_org,
    )


def alerts_build(log: BenchLog, *, count: int = ALERTS, say: Say) -> None:
    """ALERTS alerts over the log's two years, each linked to 1-5 of the log's entries (of its
    requesting organisation's staff where the sample has one): every rule, the requesting
    organisations, the staff pseudonyms of the log, 0.5 % restricted, statuses as a queue
    that is worked (60 % new, 20 % investigating, 5 % confirmed, 15 % dismissed). Kept with
    --keep: built once."""
    if Alert.objects.count() >= count:
        return
    started = time.perf_counter()
    rng = random.Random(count)  # noqa: S311 - synthetic data
    rules = list(RULES.values())
    organizations = {o.code: o.pk for o in Organization.objects.all()}
    sample = list(
        LedgerEntry.objects.order_by("seq").values_list(
            "seq", "intake__created_at", "intake__leaf"
        )[:: max(1, log.size // 50_000)]
    )
    statuses = (
        [AlertStatus.NEW] * 60
        + [AlertStatus.INVESTIGATING] * 20
        + [AlertStatus.CONFIRMED] * 5
        + [AlertStatus.DISMISSED] * 15
    )
    alerts, links = [], []
    for n in range(count):
        seq, at, leaf = sample[rng.randrange(len(sample))]
        fields = json.loads(leaf)
        rule = rules[n % len(rules)]
        status = rng.choice(statuses)
        entries = sorted(
            {seq} | {sample[rng.randrange(len(sample))][0] for _ in range(rng.randrange(5))}
        )
        alerts.append(
            Alert(
                rule=rule.code,
                family=rule.family,
                severity=rule.severity,
                status=status,
                dismiss_reason=DismissReason.FALSE_POSITIVE
                if status == AlertStatus.DISMISSED
                else "",
                organization_id=organizations.get(fields["requester"][:6]),
                staff_pseudonym=fields["staff"],
                subject=fields.get("subject", ""),
                restricted=rng.random() < 0.005,
                day=timezone.localtime(at).date(),
                dedupe_key=f"bench-{n}",
                first_at=at,
                last_at=at,
                entry_count=len(entries),
                created_at=at,
                updated_at=at,
            )
        )
        links.append([(s, at) for s in entries])
    Alert.objects.bulk_create(alerts, batch_size=2000)
    AlertEntry.objects.bulk_create(
        [
            AlertEntry(alert=alert, seq=s, at=at, linked_at=at)
            for alert, linked in zip(alerts, links, strict=True)
            for s, at in linked
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    say(f"built {count} alerts in {time.perf_counter() - started:.0f} s")


def _clients(log: BenchLog) -> tuple[Client, Client]:
    users = get_user_model().objects
    national, _ = users.get_or_create(username="bench.auditor")
    national.groups.add(Group.objects.get_or_create(name=AUDITORS_GROUP)[0])
    officer, _ = users.get_or_create(username="bench.officer")
    if not PrivacyOfficer.objects.filter(user=officer, ended_at__isnull=True).exists():
        privacy_officer_appoint(
            actor=None, user=officer, organization=Organization.objects.get(code=log.organization)
        )
    clients = []
    for user in (national, officer):
        # A host the settings allow (the test runner's "testserver" is not one outside tests).
        client = Client(SERVER_NAME="localhost")
        client.force_login(user)
        clients.append(client)
    return clients[0], clients[1]


def _days_ago(days: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=days)).isoformat()


def _timed(get: Callable[[], int], samples: int, ok: tuple[int, ...] = (200,)) -> list[float]:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        status = get()
        times.append((time.perf_counter() - started) * 1000)
        if status not in ok:
            raise RuntimeError(f"HTTP {status}")
    return times


def _line(label: str, times: list[float], target: float | None = TARGET_MS) -> str:
    p95 = percentile(times, 95)
    verdict = (
        ""
        if target is None
        else f" (target p95 <= {target:.0f} ms: {'met' if p95 <= target else 'NOT met'})"
    )
    return (
        f"{label}: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(times):.1f} ms over {len(times)}{verdict}"
    )


def bench_dashboard(*, size: int, records: int, samples: int, say: Say) -> dict[str, float]:
    """Build the log (and its alerts), then time every kind of entry search and the alert
    queue; returns the p95 of each."""
    log = build(size=size, records=records, say=say)
    alerts_build(log, say=say)
    national, officer = _clients(log)
    top = indexed_up_to() or 0
    say(
        f"log of {log.size} entries, index up to {top}; the resident searched has "
        f"{LedgerIntake.objects.filter(subject=log.subject).count()} entries"
    )
    rng = random.Random(1)  # noqa: S311
    purpose = {"purpose": "routine_audit"}
    searches: dict[str, tuple[Client, Callable[[], str], tuple[int, ...]]] = {
        "search by sequence number (opens the entry)": (
            national,
            lambda: f"/audit/entries/?q={rng.randrange(top + 1)}",
            (302,),
        ),
        "search by request id (opens the entry)": (
            national,
            lambda: f"/audit/entries/?q={_request_id(rng.randrange(log.size))}",
            (302,),
        ),
        "search by subject pseudonym, 1,000 entries (first 50, look recorded)": (
            national,
            lambda: "/audit/entries/?" + urlencode({"q": log.subject, **purpose}),
            (200,),
        ),
        "search by subject pseudonym, a resident with a few entries": (
            national,
            lambda: "/audit/entries/?" + urlencode({"q": rng.choice(log.subjects), **purpose}),
            (200,),
        ),
        "search by case": (
            national,
            lambda: "/audit/entries/?" + urlencode({"q": rng.choice(log.cases)}),
            (200,),
        ),
        "privacy officer: search by subject pseudonym": (
            officer,
            lambda: "/audit/entries/?" + urlencode({"q": log.subject, **purpose}),
            (200,),
        ),
        "privacy officer: search by case": (
            officer,
            lambda: "/audit/entries/?" + urlencode({"q": rng.choice(log.cases)}),
            (200,),
        ),
        "privacy officer: search by sequence number": (
            officer,
            lambda: f"/audit/entries/?q={rng.randrange(top + 1)}",
            (302,),
        ),
    }
    others: dict[str, tuple[Client, Callable[[], str], tuple[int, ...]]] = {
        "entry page (facts, chain, look recorded)": (
            national,
            lambda: f"/audit/entries/{rng.randrange(top + 1)}/?purpose=routine_audit",
            (200,),
        ),
        "newest entries, no filter": (national, lambda: "/audit/entries/", (200,)),
        "privacy officer: newest entries of their organisation": (
            officer,
            lambda: "/audit/entries/",
            (200,),
        ),
        "filtered by affair and outcome": (
            national,
            lambda: "/audit/entries/?affair=JT00000000000003&outcome=refused",
            (200,),
        ),
    }
    org_rule = "behaviour.volume"
    queue: dict[str, tuple[Client, Callable[[], str], tuple[int, ...]]] = {
        "alert queue, newest 50, no filter": (national, lambda: "/audit/alerts/", (200,)),
        "alert queue: new alerts": (national, lambda: "/audit/alerts/?status=new", (200,)),
        "alert queue: high severity, new": (
            national,
            lambda: "/audit/alerts/?severity=high&status=new",
            (200,),
        ),
        "alert queue: one rule over a quarter": (
            national,
            lambda: f"/audit/alerts/?rule={org_rule}&date_from={_days_ago(90)}",
            (200,),
        ),
        "alert queue: one organisation, investigating": (
            national,
            lambda: f"/audit/alerts/?organization={log.organization}&status=investigating",
            (200,),
        ),
        "privacy officer: alert queue, no filter": (officer, lambda: "/audit/alerts/", (200,)),
        "privacy officer: alert queue, new alerts": (
            officer,
            lambda: "/audit/alerts/?status=new",
            (200,),
        ),
        "privacy officer: alert queue, one rule": (
            officer,
            lambda: f"/audit/alerts/?rule={org_rule}",
            (200,),
        ),
    }
    figures: dict[str, float] = {}
    for group, target_ms in ((searches, TARGET_MS), (queue, TARGET_MS), (others, None)):
        for label, (client, url, ok) in group.items():
            client.get(url())  # warm the path once

            def get(client: Client = client, url: Callable[[], str] = url) -> int:
                return client.get(url()).status_code

            times = _timed(get, samples, ok)
            figures[label] = percentile(times, 95)
            say(_line(label, times, target=target_ms))
    return figures
