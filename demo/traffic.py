"""Demo linkage traffic (`seed_demo --traffic DAYS`): realistic requests through the network
service, with known kinds of misuse mixed in and written to a labels file for measuring
detection later.

Ordinary traffic: clerks work office hours on working days (core.calendar), mostly under open
cases of their own department, asking for items the permitted table allows for the case's
affair; June doubles the 児童手当 workload (現況届). Where the item is held by the clerk's own
institution (a city's tax records for its own residents), the clerk uses it by 庁内連携
(agencies.network.services.internal_transfer_send), as a real office does: the network only
links different institutions. Every request, ordinary or not, goes through the network
service and so into the ledger. The injected misuse (demo.misuse) stays on the network (a
query to another institution where the clerk's own would hold the item). The generator is
deterministic for a seed and a fixed end date.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from core.calendar import is_working_day
from demo.misuse import inject_misuse
from demo.office import (
    Clerk,
    Sender,
    TrafficReport,
    World,
    office_time,
    open_cases,
    own_household,
    under_case,
)


def _ordinary(world: World, sender: Sender, clerk: Clerk, day: dt.date, count: int) -> None:
    for _ in range(count):
        when = office_time(day, sender.rng)
        own = own_household(world, clerk)
        cases = [
            c
            for c in open_cases(world, clerk, when)
            if own.isdisjoint(world.members.get(c.pk) or [c.applicant_id])
        ]
        if not cases:
            return
        case = sender.rng.choice(cases)
        under_case(sender, clerk, case, when)


def traffic_generate(
    *,
    days: int,
    seed: int,
    end: dt.date,
    labels_path: Path,
    per_clerk_per_day: float = 2.0,
    misuse_per_kind: int = 3,
) -> TrafficReport:
    """Send `days` days of traffic ending on `end` (inclusive) and write the labels file.

    Each request is its own transaction through the network service; the labels file
    (JSON lines: request_id, kind) lists every injected request.
    """
    if days < 1:
        raise ValueError("--traffic needs at least 1 day")
    rng = random.Random(seed)
    world = World()
    report = TrafficReport()
    sender = Sender(world, rng, report)
    all_days = [end - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    for day in all_days:
        if not is_working_day(day):
            continue
        for clerk in world.clerks:
            factor = (
                2.0
                if day.month == 6
                and any(
                    "児童手当" in c.affair.name
                    for c in world.cases.get(clerk.staff.department_id, [])
                )
                else 1.0
            )
            mean = per_clerk_per_day * factor
            count = max(0, round(rng.gauss(mean, mean / 3)))
            _ordinary(world, sender, clerk, day, count)
    inject_misuse(world, sender, all_days, misuse_per_kind)
    labels_path.parent.mkdir(parents=True, exist_ok=True)
    with labels_path.open("w", encoding="utf-8") as out:
        for label in report.labels:
            out.write(json.dumps(label, ensure_ascii=False) + "\n")
    return report
