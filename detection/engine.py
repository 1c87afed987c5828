"""The rules' decisions (検知規則の判定), over entries read by parse_leaf and the data joined
to them. No database access here: the scanner (detection.scanner) reads everything a batch
needs in sets and hands it over, so the decisions are plain functions that tests can drive
with any entries, the demo's or not.

Each decision reads only ledger fields (codes, pseudonyms, outcome, reason, time, terminal)
and the product's own tables (staff, persons, households, cases, consents, facts from
earlier entries): never a label, a name of the demo or its injection code.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from core.calendar import OFFICE_CLOSES, OFFICE_OPENS, TOKYO, is_working_day
from detection.rules import HARD_REASONS
from detection.selectors import (
    CaseInfo,
    Fact,
    Membership,
    PersonInfo,
    RuleConfig,
    StaffDirectory,
    StaffInfo,
)

REFUSED = "refused"


@dataclass(slots=True)
class Request:
    """One request entry (linkage.request or internal.transfer) as the rules judge it."""

    seq: int
    at: dt.datetime
    event_type: str
    subject: str
    staff: StaffInfo | None
    person: PersonInfo | None
    requester: str
    affair: str
    item: str
    outcome: str
    reason: str
    case_ref: str
    batch_id: str
    terminal: str
    nondisclosure: bool
    from_affair: str = ""
    local: dt.datetime = field(init=False)  # the time in Tokyo
    day: dt.date = field(init=False)
    # Filled by judge():
    restricted: bool = False  # about a person protected from disclosure (不開示)
    explained: bool = False  # an open case or a batch query of the department explains it
    by_batch: bool = False  # explained by a batch query (一括照会)
    case: CaseInfo | Membership | None = None  # the case the entry names, when found

    def __post_init__(self) -> None:
        self.local = self.at.astimezone(TOKYO)
        self.day = self.local.date()

    @property
    def refused(self) -> bool:
        return self.outcome == REFUSED

    @property
    def organization_id(self) -> int | None:
        return self.staff.organization_id if self.staff else None


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's finding: the entries it concerns, and whom and which day it is about."""

    rule: str
    rows: tuple[tuple[int, dt.datetime], ...]  # (sequence number, time) of each entry
    staff: StaffInfo | None
    subject: str
    organization_id: int | None
    day: dt.date
    restricted: bool


@dataclass(frozen=True)
class Context:
    """What a batch's decisions are made against, read by the scanner beforehand."""

    directory: StaffDirectory
    config: RuleConfig
    watched: frozenset[str]
    consent_pairs: frozenset[tuple[str, str]]  # (item, affair) needing consent
    facts: Mapping[str, Sequence[Fact]]  # by LedgerFact key
    # Cases named by entries whose subject is not among their members, by (institution, ref).
    cases_named: Mapping[tuple[int, str], Sequence[CaseInfo]]
    memberships: Mapping[int, Sequence[Membership]]  # by person id
    consents: Mapping[tuple[int, str, str, str], Sequence[tuple[dt.date, dt.date | None]]]


# --- keys of the facts a request is judged against (LedgerFact.key) ----------------------------


def batch_key(batch_id: str) -> str:
    return f"batch|{batch_id}"


def consent_key(subject: str, institution: str, affair: str, item: str) -> str:
    return f"consent|{subject}|{institution}|{affair}|{item}"


def assignment_key(staff: str, affair: str) -> str:
    return f"assignment|{staff}|{affair}"


def ordinance_key(organization: str) -> str:
    return f"ordinance|{organization}"


def nondisclosure_key(subject: str) -> str:
    return f"nondisclosure|{subject}"


def fact_keys(
    request: Request, organization_code: str, consent_pairs: frozenset[tuple[str, str]]
) -> list[str]:
    """The fact keys a request will be judged against."""
    keys = [nondisclosure_key(request.subject)] if request.subject else []
    if request.batch_id:
        keys.append(batch_key(request.batch_id))
    if request.staff is not None:
        keys.append(assignment_key(request.staff.pseudonym, request.affair))
    if request.subject and (request.item, request.affair) in consent_pairs:
        keys.append(consent_key(request.subject, request.requester, request.affair, request.item))
    if organization_code and request.event_type == "internal.transfer":
        keys.append(ordinance_key(organization_code))
    return keys


def _latest(facts: Sequence[Fact], moment: dt.datetime) -> Fact | None:
    last = None
    for fact in facts:  # oldest first
        if fact.at <= moment:
            last = fact
    return last


def _within(day: dt.date, fields: Mapping[str, object]) -> bool:
    start, end = fields.get("valid_from"), fields.get("valid_to")
    if isinstance(start, str) and day < dt.date.fromisoformat(start):
        return False
    return not (isinstance(end, str) and day > dt.date.fromisoformat(end))


# --- per-entry decisions -----------------------------------------------------------------------


def restricted(request: Request, ctx: Context) -> bool:
    """Whether the request concerns a person protected from disclosure (不開示) on its day:
    the entry's own marker, the person's protection period, or the latest 不開示 entry about
    them. Any one is enough: a doubt is resolved towards protecting the person."""
    if request.nondisclosure:
        return True
    if request.person is not None and request.person.protected_on(request.day):
        return True
    if not request.subject or not ctx.facts:
        return False
    fact = _latest(ctx.facts.get(nondisclosure_key(request.subject), ()), request.at)
    return bool(
        fact is not None
        and fact.event_type == "nondisclosure.set"
        and _within(request.day, fact.fields)
    )


def _batch_explains(request: Request, ctx: Context) -> bool:
    facts = ctx.facts.get(batch_key(request.batch_id), ())
    opened = next((f for f in facts if f.event_type == "batch.opened"), None)
    if opened is None or request.staff is None:
        return False
    f = opened.fields
    return (
        f.get("affair") == request.affair
        and f.get("institution") == request.requester
        and f.get("department") == request.staff.department_code
        # Sent after the batch was opened (a minute's grace for clocks of different hosts).
        and request.at >= opened.at - dt.timedelta(minutes=1)
    )


def named_case(request: Request, ctx: Context) -> CaseInfo | None:
    """The case the entry names: of the clerk's department if there is one of that reference,
    else any of the requesting institution's."""
    if not request.case_ref or request.staff is None:
        return None
    cases = ctx.cases_named.get((request.staff.institution_id, request.case_ref), ())
    own = [c for c in cases if c.department_id == request.staff.department_id]
    chosen = own or list(cases)
    return chosen[0] if chosen else None


def membership_of_named_case(request: Request, ctx: Context) -> Membership | None:
    """The subject's membership of the case the entry names, in the clerk's department."""
    if request.person is None or request.staff is None:
        return None
    for m in ctx.memberships.get(request.person.id, ()):
        if m.reference == request.case_ref and m.department_id == request.staff.department_id:
            return m
    return None


def case_allows(case: CaseInfo | Membership, request: Request) -> bool:
    """A case is a reason for a request of its own department and affair while it is open."""
    assert request.staff is not None
    return (
        case.department_id == request.staff.department_id
        and case.affair_code == request.affair
        and case.open_at(request.at)
    )


def explain(request: Request, ctx: Context) -> None:
    """Set request.explained (and by_batch, case): the request belongs to a batch query of its
    department and affair, or an open case of the department in that affair includes the
    subject (the named case, or, with none named, any)."""
    if request.batch_id and _batch_explains(request, ctx):
        request.explained = request.by_batch = True
        return
    if request.staff is None or request.person is None:
        return
    if request.case_ref:
        # The subject's own membership of the named case, found with their other cases; the
        # case alone (not theirs) only when there is none.
        member = membership_of_named_case(request, ctx)
        request.case = member if member is not None else named_case(request, ctx)
        request.explained = member is not None and case_allows(member, request)
        return
    staff = request.staff
    ts = request.at.timestamp()
    request.explained = any(
        m.department_id == staff.department_id
        and m.affair_code == request.affair
        and m.opened <= ts
        and (m.closed is None or ts < m.closed)
        for m in ctx.memberships.get(request.person.id, ())
    )


def _assigned(request: Request, ctx: Context) -> bool:
    assert request.staff is not None
    if not ctx.facts:  # no assignment change on the ledger: the assignments as they are
        return request.affair in request.staff.affairs
    facts = ctx.facts.get(assignment_key(request.staff.pseudonym, request.affair), ())
    latest = _latest(facts, request.at)
    if latest is not None:
        return latest.event_type == "assignment.granted"
    if facts:  # the first recorded change is later: before it, the opposite held
        return facts[0].event_type == "assignment.ended"
    return request.affair in request.staff.affairs


def _consented(request: Request, ctx: Context) -> bool:
    facts = ctx.facts.get(
        consent_key(request.subject, request.requester, request.affair, request.item), ()
    )
    latest = _latest(facts, request.at)
    if latest is not None:
        return latest.event_type == "consent.given" and _within(request.day, latest.fields)
    if request.person is None:
        return True  # nobody to have consented: the network refuses an unknown subject
    periods = ctx.consents.get(
        (request.person.id, request.requester, request.affair, request.item), ()
    )
    return any(
        start <= request.day and (end is None or request.day <= end) for start, end in periods
    )


def _ordinance_allows(request: Request, ctx: Context, organization_code: str) -> bool | None:
    """None when no ordinance table of the organisation is on the ledger (nothing to judge
    by), else whether a row in force covers the transfer's affair, item and source affair."""
    facts = ctx.facts.get(ordinance_key(organization_code), ())
    if not facts:
        return None
    rows: dict[tuple[object, ...], Fact] = {}
    for fact in facts:
        if fact.at > request.at:
            break
        f = fact.fields
        rows[(f.get("affair"), f.get("item"), f.get("from_affair"), f.get("valid_from"))] = fact
    for (affair, item, from_affair, _), fact in rows.items():
        if affair != request.affair or item != request.item:
            continue
        if from_affair is not None and from_affair != request.from_affair:
            continue
        if fact.event_type == "ordinance.added" and _within(request.day, fact.fields):
            return True
        # An ended row covers the days up to its end date, when it names one.
        if (
            fact.event_type == "ordinance.ended"
            and "valid_to" in fact.fields
            and _within(request.day, fact.fields)
        ):
            return True
    return False


def hard_rules(request: Request, ctx: Context, organization_code: str) -> list[str]:
    """The hard rules a request breaks: the network's refusal reason when it is a violation,
    and, for what the gate lets through or never sees (庁内連携), the same checks made from
    the ledger's facts and the product's tables."""
    found: list[str] = []
    if request.refused:
        rule = HARD_REASONS.get(request.reason)
        if rule:
            found.append(rule)
    elif request.staff is not None:
        if not _assigned(request, ctx):
            found.append("hard.not_assigned")
        if request.case is not None and not case_allows(request.case, request):
            found.append("hard.case_invalid")
        if (
            request.event_type == "linkage.request"
            and (request.item, request.affair) in ctx.consent_pairs
            and not _consented(request, ctx)
        ):
            found.append("hard.consent_missing")
        if (
            request.event_type == "internal.transfer"
            and _ordinance_allows(request, ctx, organization_code) is False
        ):
            found.append("hard.outside_ordinance")
    if request.restricted and not request.explained and request.person is not None:
        found.append("hard.nondisclosure")
    return found


def explanation_rules(request: Request) -> list[str]:
    """explain.outside_case when the named case (open, of the department and affair) does not
    include the subject, explain.no_case when nothing explains the request. A named case
    that cannot explain it at all (closed, another department's) is a hard finding."""
    if request.explained or request.person is None or request.staff is None:
        return []
    if request.case is not None:
        return ["explain.outside_case"] if case_allows(request.case, request) else []
    return ["explain.no_case"]


# The calendar's answer for a day does not change within a scan; jpholiday's is the dearest
# part of core.calendar.in_office_hours, asked for every request.
_working_day = functools.lru_cache(maxsize=4096)(is_working_day)


def _in_office_hours(moment: dt.datetime) -> bool:
    """core.calendar.in_office_hours, with the working day remembered (a test holds the two
    equal)."""
    local = moment if moment.tzinfo is TOKYO else moment.astimezone(TOKYO)
    return _working_day(local.date()) and OFFICE_OPENS <= local.time() <= OFFICE_CLOSES


def outside_office_hours(moment: dt.datetime, grace: dt.timedelta) -> bool:
    """Outside the calendar's office hours (core.calendar: working days, 8:30-17:15) by more
    than grace: a clerk finishing a case a few minutes after closing is ordinary work, a
    query in the night or on a holiday is not. No grace reaches into a day off."""
    # Tokyo keeps no summer time: shifting its local time is shifting the instant.
    local = moment if moment.tzinfo is TOKYO else moment.astimezone(TOKYO)
    return not (_in_office_hours(local - grace) or _in_office_hours(local + grace))


@functools.cache
def _minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def behaviour_rules(request: Request, ctx: Context) -> list[str]:
    """The behaviour rules one entry shows on its own (the window rules are separate)."""
    found: list[str] = []
    if request.subject in ctx.watched:
        found.append("behaviour.watchlist")
    staff, person = request.staff, request.person
    if request.by_batch or staff is None:
        return found  # a batch query's requests are explained by the batch
    if outside_office_hours(
        request.local, _minutes(ctx.config.param("behaviour.off_hours", "grace_minutes"))
    ):
        found.append("behaviour.off_hours")
    if person is None:
        return found
    if staff.person_id == person.id:
        found.append("behaviour.self_lookup")
        return found
    if not request.explained:
        same_household = (
            staff.household_id is not None and staff.household_id == person.household_id
        )
        same_name_address = (
            bool(staff.family_name)
            and staff.family_name == person.family_name
            and bool(staff.address)
            and staff.address == person.address
        )
        if same_household or same_name_address:
            found.append("behaviour.kin")
        if ctx.directory.coworker(staff, person.id):
            found.append("behaviour.coworker")
    return found


def judge(
    requests: Iterable[Request], ctx: Context, organization_codes: Mapping[int, str]
) -> list[Finding]:
    """Explain each request and return the findings of every per-entry rule that is on."""
    findings: list[Finding] = []
    on = ctx.config.on
    for request in requests:
        request.restricted = restricted(request, ctx)
        explain(request, ctx)
        org_code = organization_codes.get(request.organization_id or 0, "")
        # Each rule judges on its own: a request refused as out of the table and explained by
        # no case is both, and the auditors see both.
        rules = [r for r in hard_rules(request, ctx, org_code) if on(r)]
        rules += [r for r in explanation_rules(request) if on(r)]
        rules += [r for r in behaviour_rules(request, ctx) if on(r)]
        for rule in rules:
            findings.append(
                Finding(
                    rule,
                    ((request.seq, request.at),),
                    request.staff,
                    request.subject,
                    request.organization_id,
                    request.day,
                    request.restricted,
                )
            )
    return findings


# --- rules over windows of entries (bursts, repetition, terminals) ------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """An earlier or current request as the window rules see it (detection.models.Access),
    its time in POSIX seconds: the windows compare thousands of them."""

    seq: int
    ts: float
    staff_id: int | None
    subject: str
    terminal: str
    restricted: bool

    @property
    def at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.ts, dt.UTC)

    @property
    def day(self) -> dt.date:
        """The (Tokyo) day of the request."""
        return dt.datetime.fromtimestamp(self.ts, TOKYO).date()


def _marked_by_window(
    rows: Sequence[Seen], window: dt.timedelta, qualifies: Callable[[Sequence[Seen]], bool]
) -> set[int]:
    """Indexes of rows (sorted by time) that lie in some window of length `window` in which
    qualifies(rows of the window) holds; windows are tried ending at each row."""
    marked: set[int] = set()
    start = 0
    span = window.total_seconds()
    for end in range(len(rows)):
        while rows[end].ts - rows[start].ts > span:
            start += 1
        if qualifies(rows[start : end + 1]):
            marked.update(range(start, end + 1))
    return marked


def _findings_from_marks(
    rule: str,
    rows: Sequence[Seen],
    marked: set[int],
    triggers: set[int],
    staff_of: Callable[[int | None], StaffInfo | None],
    *,
    per_staff: bool,
    subject: str,
) -> list[Finding]:
    """Findings for marked rows, one per (day, organisation, restriction) — and staff member
    when per_staff — that holds a marked row of this batch (a trigger)."""
    groups: dict[tuple[dt.date, int | None, bool, int | None], list[Seen]] = defaultdict(list)
    for i in sorted(marked):
        row = rows[i]
        staff = staff_of(row.staff_id)
        org = staff.organization_id if staff else None
        key = (row.day, org, row.restricted, row.staff_id if per_staff else None)
        groups[key].append(row)
    findings = []
    for (day, org, is_restricted, staff_id), members in groups.items():
        if not any(m.seq in triggers for m in members):
            continue
        findings.append(
            Finding(
                rule,
                tuple((m.seq, m.at) for m in members),
                staff_of(staff_id) if per_staff else None,
                subject,
                org,
                day,
                is_restricted,
            )
        )
    return findings


def many_staff(
    by_subject: Mapping[str, Sequence[Seen]],
    triggers: set[int],
    ctx: Context,
    staff_of: Callable[[int | None], StaffInfo | None],
) -> list[Finding]:
    """behaviour.many_staff: at least min_staff distinct staff members queried one subject
    within window_minutes."""
    code = "behaviour.many_staff"
    window = dt.timedelta(minutes=ctx.config.param(code, "window_minutes"))
    least = ctx.config.param(code, "min_staff")
    findings: list[Finding] = []
    for subject, rows in by_subject.items():
        marked = _marked_by_window(rows, window, lambda w: len({r.staff_id for r in w}) >= least)
        findings += _findings_from_marks(
            code, rows, marked, triggers, staff_of, per_staff=False, subject=subject
        )
    return findings


def repeat_subject(
    by_subject: Mapping[str, Sequence[Seen]],
    triggers: set[int],
    ctx: Context,
    staff_of: Callable[[int | None], StaffInfo | None],
) -> list[Finding]:
    """behaviour.repeat_subject: one staff member queried one subject at least min_count times
    within window_minutes."""
    code = "behaviour.repeat_subject"
    window = dt.timedelta(minutes=ctx.config.param(code, "window_minutes"))
    least = ctx.config.param(code, "min_count")
    findings: list[Finding] = []
    for subject, rows in by_subject.items():
        per_staff: dict[int | None, list[Seen]] = defaultdict(list)
        for row in rows:
            per_staff[row.staff_id].append(row)
        for staff_rows in per_staff.values():
            if len(staff_rows) < least:
                continue
            marked = _marked_by_window(staff_rows, window, lambda w: len(w) >= least)
            findings += _findings_from_marks(
                code, staff_rows, marked, triggers, staff_of, per_staff=True, subject=subject
            )
    return findings


def multi_terminal(
    by_staff: Mapping[int, Sequence[Seen]],
    triggers: set[int],
    ctx: Context,
    staff_of: Callable[[int | None], StaffInfo | None],
) -> list[Finding]:
    """behaviour.multi_terminal: one account used from two or more terminals within
    gap_minutes of each other (sessions that overlap)."""
    code = "behaviour.multi_terminal"
    gap = ctx.config.param(code, "gap_minutes") * 60.0
    findings: list[Finding] = []
    for rows in by_staff.values():
        marked: set[int] = set()
        for i, row in enumerate(rows):
            j = i + 1
            while j < len(rows) and rows[j].ts - row.ts <= gap:
                if rows[j].terminal != row.terminal:
                    marked.update((i, j))
                j += 1
        findings += _findings_from_marks(
            code, rows, marked, triggers, staff_of, per_staff=True, subject=""
        )
    return findings


@dataclass(frozen=True, slots=True)
class VolumeVerdict:
    """The volume rule's reasoning for one staff member's day."""

    count: int
    own: float | None  # mean of the staff member's active days before, None if too few
    peers: float | None  # median of the department's other staff members' means
    fires: bool


def volume_verdict(
    *, count: int, own: float | None, peers: float | None, min_count: int, factor: int
) -> VolumeVerdict:
    """Whether `count` requests in a day are far above the staff member's own usual level
    and their department's (usual_level, median_level): at least min_count, and factor
    times each level that is known. With neither known there is nothing to be far above: it
    does not fire (a new office's first days, before any history)."""
    known = [level for level in (own, peers) if level is not None]
    fires = count >= min_count and bool(known) and all(count >= factor * lv for lv in known)
    return VolumeVerdict(count, own, peers, fires)


def usual_level(days: Mapping[dt.date, int]) -> float | None:
    """Mean requests on the active days of a history; None with fewer than three."""
    active = [n for n in days.values() if n > 0]
    return sum(active) / len(active) if len(active) >= 3 else None


def median_level(levels: Iterable[float | None]) -> float | None:
    """The median of the known levels, or None."""
    known = sorted(level for level in levels if level is not None)
    return known[len(known) // 2] if known else None
