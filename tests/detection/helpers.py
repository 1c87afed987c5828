"""Helpers of the detection tests: a clock in office hours, more residents and staff, cases,
requests, and the sequencer and scanner run to the end.

Requests go through the real network service wherever the service can make them; entries
that only the domain work will write (batch queries, consent and assignment changes, 不開示,
ordinance rows) are appended with audit.ledger.ledger_append, as the event contract defines
them (agencies/events.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from agencies.models import AddresseeNumber, Case, ProvisionCopy, StaffMember
from agencies.services import case_open
from audit.entries import subject_pseudonym
from audit.ledger import ledger_append, ledger_integrate
from core.calendar import TOKYO
from detection.models import Alert
from detection.scanner import ScanResult, scan_until_caught_up
from tests.support.factories import (
    DepartmentFactory,
    PersonFactory,
    StaffFactory,
    issue_token,
    send_request,
)

# A Wednesday morning, a working day: nothing is off-hours unless a test says so.
OFFICE = dt.datetime(2026, 6, 3, 10, 0, tzinfo=TOKYO)


def at(hour: int, minute: int = 0, *, day: dt.date | None = None) -> dt.datetime:
    """A moment (Tokyo) on OFFICE's day or another."""
    start = dt.datetime.combine(day or OFFICE.date(), dt.time(hour), TOKYO)
    return start + dt.timedelta(minutes=minute)


def scan() -> ScanResult:
    """Integrate everything appended (the sequencer), then scan until caught up."""
    while ledger_integrate().integrated:
        pass
    return scan_until_caught_up()


def alerts(rule: str | None = None) -> list[Alert]:
    qs = Alert.objects.order_by("pk")
    return list(qs.filter(rule=rule) if rule else qs)


def rules_fired() -> set[str]:
    return set(Alert.objects.values_list("rule", flat=True))


def seqs_of(alert: Alert) -> list[int]:
    return sorted(alert.entries.values_list("seq", flat=True))


_numbers = iter(range(100, 10**6))


def resident(world: Any, **fields: Any):
    """A resident of the world's city with a 宛名番号, 符号 at the mayor, board and pension
    service, and a pension 副本 (so that a permitted request is provided)."""
    person = PersonFactory(**fields)
    number = f"{next(_numbers):015d}"
    AddresseeNumber.objects.create(organization=world.city, person=person, number=number)
    for institution in (world.mayor, world.board, world.pension, world.neighbour):
        issue_token(institution, person)
    ProvisionCopy.objects.create(
        institution=world.pension,
        item=world.pension_item,
        token=person.tokens.get(institution=world.pension),
        payload={"年額": 1},
    )
    person.addressee_number = number
    return person


def family(world: Any, size: int, **fields: Any) -> list:
    """size residents of one household (世帯) of the world's city, the first its head."""
    from agencies.models import Household

    household = Household.objects.create(
        organization=world.city, number=f"H{next(_numbers)}", address="北1条西2丁目"
    )
    return [
        resident(world, household=household, address=household.address, **fields)
        for _ in range(size)
    ]


def clerk(world: Any, *, department=None, affairs=None, **fields: Any) -> StaffMember:
    """Another clerk of the mayor's office (own department unless given), assigned to the
    world's child allowance affair unless told otherwise."""
    return StaffFactory(
        department=department or DepartmentFactory(institution=world.mayor),
        affairs=[world.affair] if affairs is None else affairs,
        **fields,
    )


_refs = iter(range(1, 10**6))


def open_case(
    world: Any, staff: StaffMember, applicant, *, members=(), affair=None, now=None
) -> Case:
    """A case of staff's department through the service (case.opened / case.member entries)."""
    return case_open(
        staff=staff,
        affair=affair or world.affair,
        reference=f"T-{next(_refs):05d}",
        applicant=applicant,
        members=[(m, "") for m in members],
        now=now,
    )


def ask(world: Any, staff: StaffMember, person, *, now: dt.datetime | None = None, **kw: Any):
    """A permitted 情報照会 (pension item from the pension service) by staff about person."""
    kw.setdefault("addressee_number", getattr(person, "addressee_number", "000000000012345"))
    return send_request(world, staff=staff, now=now or OFFICE, **kw)


def request_entry(
    world: Any,
    *,
    staff: StaffMember,
    person=None,
    moment: dt.datetime = OFFICE,
    event_type: str = "linkage.request",
    **fields: Any,
) -> int:
    """Append a request entry as the network writes it (agencies.network.events), for what the
    services cannot send today (a batch field, a refusal reason of the domain work)."""
    entry = {
        "request_id": str(uuid.uuid4()),
        "requester": staff.institution.code,
        "provider": world.pension.code,
        "affair": world.affair.code,
        "item": world.pension_item.code,
        "staff": staff.audit_pseudonym,
        "outcome": "provided",
        "nondisclosure": False,
        **fields,
    }
    subject = subject_pseudonym(str(person.public_id)) if person is not None else ""
    return ledger_append(
        event_type=event_type, fields=entry, subject=subject, moment=moment
    ).intake_id
