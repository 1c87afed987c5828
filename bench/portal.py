"""manage.py bench portal: the resident portal's server times on a large log.

A resident with `records` entries in a log of `size` entries (the rest about other people),
then, through Django's whole stack in this process (test client: middleware, session, view,
template): the list page, the record page with its proof, and how long after the agency API
answered a new request appears in the resident's list. Figures for docs/benchmarks.md; never
a test.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from agencies.codes import with_local_government_check_digit
from agencies.models import (
    AddresseeNumber,
    Affair,
    Capacity,
    Department,
    InformationItem,
    Institution,
    InstitutionKind,
    LegalBasis,
    LinkageRule,
    Organization,
    Person,
    ProvisionCopy,
    Sex,
    StaffMember,
)
from agencies.services import agency_system_create, operator_credential_issue, token_build
from audit.entries import subject_pseudonym
from audit.ledger import INTAKE_COLUMNS, entry_prepare, intake_for_key, ledger_integrate
from audit.models import LedgerIntake
from bench.ledger import percentile
from core.db import insert_rows
from portal.models import Card
from portal.selectors import _parse
from portal.services import card_session_hash

Say = Callable[[str], None]
ADDRESSEE = "000000000054321"
BENCH_SERIAL = "YCBENCHAAAAA"


@dataclass
class BenchWorld:
    person: Person
    card: Card
    api_key: str
    staff: StaffMember
    credential: str = ""


def _world() -> BenchWorld:
    from django.contrib.auth.hashers import make_password

    org = Organization.objects.create(
        code=with_local_government_check_digit("13101"), kind="municipality", name="千代田区"
    )
    pension_org = Organization.objects.create(
        code=with_local_government_check_digit("99015"), kind="national", name="日本年金機構"
    )
    mayor = Institution.objects.create(
        organization=org,
        code="1310110000000001",
        kind=InstitutionKind.MUNICIPALITY_HEAD,
        name="区長",
        capacities=[Capacity.MUNICIPALITY_HEAD],
    )
    pension = Institution.objects.create(
        organization=pension_org,
        code="9901500000000001",
        kind=InstitutionKind.PENSION_SERVICE,
        name="日本年金機構",
        capacities=[Capacity.PENSION_SERVICE],
    )
    affair = Affair.objects.create(
        code="JT01010000000214", name="児童手当の認定", basis=LegalBasis.STATUTORY
    )
    item = InformationItem.objects.create(
        code="TM00000000000002", name="年金給付関係情報", category="年金"
    )
    LinkageRule.objects.create(
        requester_capacity=Capacity.MUNICIPALITY_HEAD,
        affair=affair,
        provider_capacity=Capacity.PENSION_SERVICE,
        item=item,
        valid_from=dt.date(2017, 11, 13),
    )
    department = Department.objects.create(institution=mayor, code="1020", name="子育て支援課")
    # "!" is Django's unusable password: this clerk only ever acts through the API.
    user = get_user_model().objects.create(username="bench.clerk", password="!")  # noqa: S106
    staff = StaffMember.objects.create(user=user, institution=mayor, department=department)
    staff.assigned_affairs.add(affair)
    person = Person.objects.create(
        family_name="検証",
        given_name="花子",
        family_name_kana="ケンショウ",
        given_name_kana="ハナコ",
        sex=Sex.FEMALE,
        date_of_birth=dt.date(1985, 5, 5),
        address="東京都千代田区",
    )
    AddresseeNumber.objects.create(organization=org, person=person, number=ADDRESSEE)
    for institution in (mayor, pension):
        token_build(institution=institution, person=person).save()
    ProvisionCopy.objects.create(
        institution=pension,
        item=item,
        token=person.tokens.get(institution=pension),
        payload={"年金種別": "老齢基礎年金"},
    )
    card = Card.objects.create(
        person=person,
        serial="YCBENCHAAAAAA"[:12],
        pin_hash=make_password("1234"),
        issued_at=timezone.now(),
    )
    _system, key = agency_system_create(institution=mayor, name="bench")
    return BenchWorld(person, card, key, staff)


def _fields(n: int, staff: str) -> dict[str, object]:
    return {
        "request_id": str(uuid.UUID(int=n + 1, version=4)),
        "requester": "1310110000000001",
        "provider": "9901500000000001",
        "affair": "JT01010000000214",
        "item": "TM00000000000002",
        "staff": staff,
        "outcome": "provided",
        "nondisclosure": False,
    }


def build(*, size: int, records: int, say: Say) -> BenchWorld:
    """The world, and a log of `size` entries of which `records` are about the resident,
    spread evenly over the log and over the last two years. With --keep, a log built before
    is used again."""
    card = Card.objects.select_related("person").filter(serial=BENCH_SERIAL).first()
    if card is not None and LedgerIntake.objects.count() >= size:
        from agencies.models import AgencySystem
        from agencies.tokens import new_api_key

        key, prefix, key_hash = new_api_key()  # a fresh key: only its hash was kept
        AgencySystem.objects.filter(name="bench").update(key_prefix=prefix, key_hash=key_hash)
        say(f"using the log of {LedgerIntake.objects.count()} entries built before (--keep)")
        return BenchWorld(
            card.person, card, key, StaffMember.objects.get(user__username="bench.clerk")
        )
    world = _world()
    started = time.perf_counter()
    mine = subject_pseudonym(str(world.person.public_id))
    every = size // records
    now = timezone.now()
    rng = random.Random(size)  # noqa: S311 - synthetic data

    def rows():  # type: ignore[no-untyped-def]
        for n in range(size):
            moment = now - dt.timedelta(seconds=(size - n) * 63_072_000 // size)
            subject = (
                mine
                if n % every == every - 1
                else "SJ"
                + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(24))
            )
            yield entry_prepare(
                event_type="linkage.request",
                fields=_fields(n, world.staff.audit_pseudonym),
                subject=subject,
                moment=moment,
            ).values

    insert_rows(LedgerIntake, INTAKE_COLUMNS, rows())
    say(
        f"built {size} intake rows ({records} about the resident) "
        f"in {time.perf_counter() - started:.0f} s"
    )
    started = time.perf_counter()
    while ledger_integrate(max_batch=50_000).integrated:
        pass
    say(f"integrated and signed in {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return world


def _client(world: BenchWorld) -> Client:
    # A host the settings allow (the test runner's "testserver" is not one outside tests).
    client = Client(SERVER_NAME="localhost")
    session = client.session
    session["portal_card"] = world.card.pk
    session["portal_card_hash"] = card_session_hash(world.card)
    session.save()
    client.cookies["sessionid"] = session.session_key  # type: ignore[assignment]
    return client


def _timed(get: Callable[[], int], samples: int, cold: bool = False) -> list[float]:
    times = []
    for _ in range(samples):
        if cold:
            _parse.cache_clear()
        started = time.perf_counter()
        status = get()
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
    return times


def _line(label: str, times: list[float], target: float) -> str:
    p95 = percentile(times, 95)
    verdict = "met" if p95 <= target else "NOT met"
    return (
        f"{label}: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(times):.1f} ms over {len(times)} (target p95 <= {target:.0f} ms: {verdict})"
    )


def bench_portal(*, size: int, records: int, samples: int, say: Say) -> None:
    """Build the log, then time the three things the portal promises."""
    world = build(size=size, records=records, say=say)
    # The operator presents their own credential with the system's key (only hashes are kept,
    # so each run issues a fresh one).
    _credential, world.credential = operator_credential_issue(staff=world.staff)
    client = _client(world)
    ids = list(
        LedgerIntake.objects.filter(
            subject=subject_pseudonym(str(world.person.public_id))
        ).values_list("id", flat=True)
    )
    if len(ids) < records:
        raise RuntimeError(f"the resident has {len(ids)} records, fewer than {records}")
    # A kept log also holds the requests earlier runs sent in the last phase.
    say(f"the resident has {len(ids)} records in a log of {LedgerIntake.objects.count()}")
    say(
        _line(
            "list page, cold (no parsed leaf cached)",
            _timed(lambda: client.get("/portal/").status_code, max(10, samples // 10), cold=True),
            100,
        )
    )
    say(_line("list page", _timed(lambda: client.get("/portal/").status_code, samples), 100))
    say(
        _line(
            "list page, filtered by item and period",
            _timed(
                lambda: (
                    client.get("/portal/?item=TM00000000000002&date_from=2000-01-01").status_code
                ),
                samples,
            ),
            100,
        )
    )
    say(
        _line(
            "CSV of 1,000 records",
            _timed(lambda: client.get("/portal/records.csv").status_code, max(10, samples // 10)),
            1000,
        )
    )
    rng = random.Random(1)  # noqa: S311

    def record() -> int:
        intake_id = rng.choice(ids)
        page = client.get(f"/portal/records/{intake_id}/").status_code
        proof = client.get(f"/portal/records/{intake_id}/proof.json").status_code
        return page if page != 200 else proof

    say(_line("record page with its proof (page + proof.json)", _timed(record, samples), 50))
    # A new request through the agency API, then the resident's list until it shows.
    api = Client(
        SERVER_NAME="localhost",
        HTTP_AUTHORIZATION=f"Bearer {world.api_key}",
        HTTP_X_OPERATOR_CREDENTIAL=world.credential,
    )
    delays = []
    for _ in range(max(20, samples // 10)):
        request_id = str(uuid.uuid4())
        answered = api.post(
            "/api/agency/requests",
            {
                "request_id": request_id,
                "affair": "JT01010000000214",
                "item": "TM00000000000002",
                "provider": "9901500000000001",
                "addressee_number": ADDRESSEE,
            },
            content_type="application/json",
        )
        if answered.status_code != 201:
            raise RuntimeError(
                f"agency API: HTTP {answered.status_code} {answered.content[:200]!r}"
            )
        started = time.perf_counter()
        entry = intake_for_key(request_id)
        marker = f'data-intake="{entry.pk if entry else 0}"'
        while marker not in client.get("/portal/").content.decode():
            if time.perf_counter() - started > 10:
                raise RuntimeError("the request did not appear within 10 s")
        delays.append((time.perf_counter() - started) * 1000)
    say(_line("new request in the list after the API answered", delays, 2000))
