"""Reads of the dashboard. Every one takes the auditor's scope (dashboard.access) and applies
it in the query itself: a privacy officer's rows are filtered by organisation and without any
不開示 entry in the database, never after the fact in a template.

Lists, counts, charts and exports read the search index (dashboard.indexer); what a page says
about one entry is read from the ledger (dashboard.facts).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from agencies.models import Organization, StaffMember
from audit.ledger import intake_for_key, latest_checkpoint, retention_cutoff
from audit.models import Checkpoint, LedgerEntry, WitnessCosignature
from audit.selectors import oldest_pending_intake
from audit.tlog.hashing import leaf_hash
from dashboard.access import AuditorScope
from dashboard.facts import EntryFacts, institution_organizations
from dashboard.indexer import indexed_up_to
from dashboard.models import (
    EntryOrganization,
    IdentityReveal,
    IndexedEntry,
    VerificationRun,
    VerificationStatus,
    WitnessRefusalRecord,
)
from portal.models import Enquiry, EnquiryStatus

PAGE_SIZE = 50
# The event types that are requests for a person's data (the charts' "requests").
REQUEST_TYPES = ("linkage.request", "internal.transfer")
OUTCOMES = ("provided", "not_found", "held", "refused", "released", "declined")

# --- the entries list -------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryFilter:
    """Filters of the entries list and its CSV; empty means any. Codes and pseudonyms only."""

    event_type: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    organization: str = ""
    institution: str = ""
    affair: str = ""
    item: str = ""
    outcome: str = ""
    staff: str = ""
    case: str = ""
    subject: str = ""
    nondisclosure: bool | None = None  # honoured for national auditors only


def _window(date_from: dt.date | None, date_to: dt.date | None) -> Q:
    zone = timezone.get_current_timezone()
    window = Q(time__gte=retention_cutoff())
    if date_from is not None:
        window &= Q(time__gte=dt.datetime.combine(date_from, dt.time.min, zone))
    if date_to is not None:
        window &= Q(time__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, zone))
    return window


def entries_matching(scope: AuditorScope, filters: EntryFilter) -> QuerySet[IndexedEntry]:
    """The indexed entries this auditor may see that match filters, newest first."""
    entries = IndexedEntry.objects.filter(_window(filters.date_from, filters.date_to))
    for name in ("event_type", "affair", "item", "outcome", "staff", "case", "subject"):
        value = getattr(filters, name)
        if value:
            entries = entries.filter(**{name: value})
    if filters.institution:
        code = filters.institution
        entries = entries.filter(Q(requester=code) | Q(provider=code) | Q(institution=code))
    if filters.organization:
        entries = entries.filter(
            seq__in=EntryOrganization.objects.filter(organization=filters.organization).values(
                "entry_id"
            )
        )
    if filters.nondisclosure is not None and scope.sees_nondisclosure:
        entries = (
            entries.filter(nondisclosure=True)
            if filters.nondisclosure
            else entries.exclude(nondisclosure=True)
        )
    return scope.apply(entries).order_by("-seq")


@dataclass
class EntryPage:
    """One page of entries, newest first, with the cursors of its neighbours (keyset
    pagination: no count over a log of millions)."""

    rows: list[IndexedEntry]
    older: int | None  # ?before= for the next (older) page
    newer: int | None  # ?after= for the previous (newer) page


def entries_page(
    entries: QuerySet[IndexedEntry],
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> EntryPage:
    """A page of `entries` (ordered newest first): the newest, or those just older than
    `before`, or just newer than `after`."""
    if after is not None:
        rows = list(entries.filter(seq__gt=after).order_by("seq")[: size + 1])
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        older = rows[-1].seq if rows and entries.filter(seq__lt=rows[-1].seq).exists() else None
        return EntryPage(rows, older, rows[0].seq if rows and more_newer else None)
    if before is not None:
        entries = entries.filter(seq__lt=before)
    rows = list(entries[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return EntryPage(
        rows,
        rows[-1].seq if more and rows else None,
        rows[0].seq if before is not None and rows else None,
    )


# --- search -----------------------------------------------------------------------------------

_SEQ = re.compile(r"#?([0-9]{1,18})")
_SUBJECT = re.compile(r"SJ[A-Z2-7]{24}")
_STAFF = re.compile(r"ST[0-9A-F]{16}")
_CASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}")


@dataclass(frozen=True)
class SearchTarget:
    """What a search box's text names: kind is "seq", "key" (a request id or another
    entry's lookup key), "subject", "staff", "case", or "" (nothing recognisable)."""

    kind: str
    value: str


def classify_search(text: str) -> SearchTarget:
    """Read a search box: a sequence number, a request id (any UUID), a subject or staff
    pseudonym, or else a case reference."""
    text = text.strip()
    if found := _SEQ.fullmatch(text):
        return SearchTarget("seq", found[1])
    try:
        return SearchTarget("key", str(uuid.UUID(text)))
    except ValueError:
        pass
    upper = text.upper()
    if _SUBJECT.fullmatch(upper):
        return SearchTarget("subject", upper)
    if _STAFF.fullmatch(upper):
        return SearchTarget("staff", upper)
    if _CASE.fullmatch(text):
        return SearchTarget("case", text)
    return SearchTarget("", "")


@dataclass(frozen=True)
class KeyHit:
    """The entry found by a lookup key (audit.ledger.intake_for_key): its sequence number, or
    None while the sequencer has not numbered it yet."""

    intake_id: int
    seq: int | None


def entry_for_key(key: str) -> KeyHit | None:
    """The first entry appended under key (a request id, a mandate, an enquiry, a batch)."""
    intake = intake_for_key(key)
    if intake is None:
        return None
    entry = getattr(intake, "entry", None)
    return KeyHit(intake.pk, entry.seq if entry is not None else None)


# --- one entry: neighbours in the chain ------------------------------------------------------


@dataclass(frozen=True)
class ChainLink:
    """A neighbour of an entry in the hash chain."""

    seq: int
    leaf_hash: str
    chain_hash: str
    holds: bool  # its chain hash follows from the one before it and its leaf hash


@dataclass(frozen=True)
class ChainView:
    """The entry's place in the chain: its own hashes checked, and its neighbours."""

    leaf_hash_ok: bool  # SHA-256(0x00 || leaf) is the recorded leaf hash
    link_ok: bool | None  # chain[n] = SHA-256(chain[n-1] || leaf_hash[n]) (None at entry 0)
    previous: ChainLink | None
    following: ChainLink | None


def chain_view(facts: EntryFacts) -> ChainView:
    """The hashes around an entry, recomputed here (hashes only: no neighbour's content, so
    nothing outside the auditor's scope is shown)."""
    rows = {
        seq: (bytes(lh), bytes(ch))
        for seq, lh, ch in LedgerEntry.objects.filter(
            seq__in=[facts.seq - 1, facts.seq + 1]
        ).values_list("seq", "leaf_hash", "chain_hash")
    }
    previous_row = rows.get(facts.seq - 1)
    following_row = rows.get(facts.seq + 1)

    def follows(chain_before: bytes, lh: bytes, chain: bytes) -> bool:
        return hashlib.sha256(chain_before + lh).digest() == chain

    link_ok = (
        None
        if facts.seq == 0
        else previous_row is not None
        and follows(previous_row[1], facts.leaf_hash, facts.chain_hash)
    )
    return ChainView(
        leaf_hash_ok=leaf_hash(facts.leaf.encode("utf-8")) == facts.leaf_hash,
        link_ok=link_ok,
        previous=None
        if previous_row is None
        else ChainLink(facts.seq - 1, previous_row[0].hex(), previous_row[1].hex(), True),
        following=None
        if following_row is None
        else ChainLink(
            facts.seq + 1,
            following_row[0].hex(),
            following_row[1].hex(),
            follows(facts.chain_hash, following_row[0], following_row[1]),
        ),
    )


def enquiries_about(scope: AuditorScope, facts: EntryFacts) -> list[Enquiry]:
    """Enquiries about this entry (the caller has checked that the auditor sees it)."""
    if not scope.sees(facts):
        return []
    return list(Enquiry.objects.filter(intake_id=facts.intake_id).order_by("-created_at"))


# --- enquiries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedEnquiry:
    """A row of the enquiry queue: no question text here (that is personal, and the
    enquiry's own page records who read it)."""

    public_id: uuid.UUID
    status: str
    status_label: str
    created_at: dt.datetime
    age_days: int
    seq: int | None
    event_type: str
    by_proxy: bool


AGE_CHOICES = (0, 3, 7, 14, 30)


def enquiry_queue(
    scope: AuditorScope, *, status: str = "open", min_age_days: int = 0, limit: int = 200
) -> list[QueuedEnquiry]:
    """Enquiries this auditor may answer (a privacy officer: about entries of their
    organisation, never about a 不開示 one), by status ("" for any), at least min_age_days
    old, oldest first."""
    enquiries = Enquiry.objects.all()
    if status:
        enquiries = enquiries.filter(status=status)
    if min_age_days:
        enquiries = enquiries.filter(
            created_at__lte=timezone.now() - dt.timedelta(days=min_age_days)
        )
    if not scope.national:
        visible = scope.apply(IndexedEntry.objects.all()).values("intake_id")
        enquiries = enquiries.filter(intake_id__in=visible)
    found = list(enquiries.order_by("created_at")[:limit])
    index = {
        e.intake_id: e
        for e in IndexedEntry.objects.filter(intake_id__in=[q.intake_id for q in found]).only(
            "intake_id", "seq", "event_type"
        )
    }
    now = timezone.now()
    labels = dict(EnquiryStatus.choices)
    rows = []
    for enquiry in found:
        indexed = index.get(enquiry.intake_id)
        rows.append(
            QueuedEnquiry(
                public_id=enquiry.public_id,
                status=enquiry.status,
                status_label=str(labels.get(enquiry.status, enquiry.status)),
                created_at=enquiry.created_at,
                age_days=(now - enquiry.created_at).days,
                seq=indexed.seq if indexed else None,
                event_type=indexed.event_type if indexed else "",
                by_proxy=enquiry.opened_by_proxy_id is not None,
            )
        )
    return rows


def open_enquiry_count(scope: AuditorScope) -> int:
    """How many open enquiries this auditor may answer."""
    return len(enquiry_queue(scope, status=EnquiryStatus.OPEN, limit=10_000))


# --- integrity ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WitnessStatus:
    """One witness as the panel shows it. state: "ok", "behind" (no cosignature of a newer
    checkpoint for a while), "refused" (a refusal newer than its last cosignature), or
    "never" (a pinned witness that never cosigned)."""

    name: str
    key_id: str
    cosigned_size: int | None
    cosigned_at: dt.datetime | None
    age: dt.timedelta | None
    state: str
    refusal: WitnessRefusalRecord | None


@dataclass
class IntegrityStatus:
    """What the integrity panel shows."""

    checkpoint: Checkpoint | None
    checkpoint_age: dt.timedelta | None
    witnesses: list[WitnessStatus]
    last_run: VerificationRun | None
    last_finished: VerificationRun | None
    recent_runs: list[VerificationRun]
    delay: dt.timedelta | None  # age of the oldest entry not yet in the chain; None: none
    delay_state: str  # ok, warn, bad
    log_size: int
    indexed_size: int
    alarms: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.alarms


def _witness_names() -> list[tuple[str, str]]:
    from portal.keys import witness_verifiers

    names = {(w.name, w.key_id.hex()) for w in witness_verifiers()}
    names |= set(WitnessCosignature.objects.values_list("witness", "key_id").distinct())
    return sorted(names)


def integrity_status() -> IntegrityStatus:
    """The latest signed checkpoint, each witness's cosignature and its age, the last full
    verification and recent ones, the integration delay, and the alarms (a failed
    verification, a witness refusal), which the panel shows in red. No personal data: the
    same for every auditor."""
    now = timezone.now()
    checkpoint = latest_checkpoint()
    latest_cosigned = {
        (row["witness"], row["key_id"]): row["size"]
        for row in WitnessCosignature.objects.values("witness", "key_id").annotate(
            size=Max("checkpoint__size")
        )
    }
    stale = dt.timedelta(seconds=settings.DASHBOARD_WITNESS_STALE_SECONDS)
    witnesses = []
    for name, key_id in _witness_names():
        size = latest_cosigned.get((name, key_id))
        cosignature = (
            WitnessCosignature.objects.filter(
                witness=name, key_id=key_id, checkpoint__size=size
            ).first()
            if size is not None
            else None
        )
        at = (
            dt.datetime.fromtimestamp(cosignature.timestamp, tz=dt.UTC)
            if cosignature is not None
            else None
        )
        refusal = (
            WitnessRefusalRecord.objects.filter(witness=name)
            .filter(Q(occurred_at__gt=at) if at is not None else Q())
            .order_by("-occurred_at")
            .first()
        )
        if refusal is not None:
            state = "refused"
        elif at is None:
            state = "never"
        elif (
            checkpoint is not None
            and size is not None
            and size < checkpoint.size
            and (now - at > stale)
        ):
            state = "behind"
        else:
            state = "ok"
        witnesses.append(
            WitnessStatus(name, key_id, size, at, now - at if at else None, state, refusal)
        )
    runs = list(VerificationRun.objects.select_related("requested_by").order_by("-pk")[:10])
    finished = next(
        (
            r
            for r in runs
            if r.status not in (VerificationStatus.QUEUED, VerificationStatus.RUNNING)
        ),
        None,
    )
    oldest = oldest_pending_intake()
    delay = now - oldest if oldest is not None else None
    warn = settings.DASHBOARD_DELAY_WARN_SECONDS
    seconds = delay.total_seconds() if delay is not None else 0.0
    delay_state = "bad" if seconds > 10 * warn else "warn" if seconds > warn else "ok"
    head = LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    indexed = indexed_up_to()
    status = IntegrityStatus(
        checkpoint=checkpoint,
        checkpoint_age=now - checkpoint.signed_at if checkpoint is not None else None,
        witnesses=witnesses,
        last_run=runs[0] if runs else None,
        last_finished=finished,
        recent_runs=runs,
        delay=delay,
        delay_state=delay_state,
        log_size=0 if head is None else head + 1,
        indexed_size=0 if indexed is None else indexed + 1,
    )
    if finished is not None and finished.status != VerificationStatus.OK:
        status.alarms.append("verification")
    if any(w.state == "refused" for w in witnesses):
        status.alarms.append("witness")
    return status


# --- charts -------------------------------------------------------------------------------


def _requests(scope: AuditorScope, since: dt.datetime) -> QuerySet[IndexedEntry]:
    return scope.apply(
        IndexedEntry.objects.filter(event_type__in=REQUEST_TYPES, time__gte=since)
    ).order_by()


def requests_per_day(
    scope: AuditorScope, *, days: int = 30, today: dt.date | None = None
) -> list[tuple[dt.date, dict[str, int]]]:
    """Requests (情報照会 and 庁内連携) per day of the last `days` days by outcome, oldest day
    first, every day present (zero included)."""
    today = today or timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    zone = timezone.get_current_timezone()
    since = dt.datetime.combine(first, dt.time.min, zone)
    counts: dict[dt.date, Counter[str]] = defaultdict(Counter)
    for row in (
        _requests(scope, since)
        .annotate(day=TruncDate("time", tzinfo=zone))
        .values("day", "outcome")
        .annotate(n=Count("seq"))
    ):
        counts[row["day"]][row["outcome"]] += row["n"]
    return [
        (first + dt.timedelta(days=i), dict(counts[first + dt.timedelta(days=i)]))
        for i in range(days)
    ]


def top_counts(
    scope: AuditorScope, column: str, *, days: int = 30, limit: int = 10
) -> list[tuple[str, int]]:
    """The most frequent values of column ("affair" or "item") among the requests of the
    last `days` days, with their counts, most first."""
    assert column in ("affair", "item", "requester", "staff")
    since = timezone.now() - dt.timedelta(days=days)
    return [
        (row[column], row["n"])
        for row in _requests(scope, since)
        .exclude(**{column: ""})
        .values(column)
        .annotate(n=Count("seq"))
        .order_by("-n", column)[:limit]
    ]


def organizations_by_volume(
    scope: AuditorScope, *, days: int = 30, limit: int = 15
) -> list[tuple[str, int]]:
    """Requesting organisations (団体コード) by the number of requests they sent in the last
    `days` days, most first."""
    orgs = institution_organizations()
    totals: Counter[str] = Counter()
    for code, n in top_counts(scope, "requester", days=days, limit=100_000):
        totals[orgs.get(code, code)] += n
    return sorted(totals.items(), key=lambda p: (-p[1], p[0]))[:limit]


def organization_names(codes: list[str]) -> dict[str, str]:
    """団体コード -> name of these organisations."""
    return dict(Organization.objects.filter(code__in=codes).values_list("code", "name"))


# --- staff drill-down --------------------------------------------------------------------


@dataclass
class StaffActivity:
    """A staff pseudonym's requests over time against their peers'."""

    pseudonym: str
    member: StaffMember | None
    days: list[dt.date]
    own: list[int]  # requests per day
    peer_mean: list[float]  # mean requests per day of a peer (same department)
    peer_count: int
    by_affair: list[tuple[str, int, float, int]]  # affair, own, peers' mean, peers
    outcomes: dict[str, int]
    recent: list[IndexedEntry]

    @property
    def total(self) -> int:
        return sum(self.own)

    @property
    def peer_total_mean(self) -> float:
        return sum(self.peer_mean)


def _daily(
    scope: AuditorScope, pseudonyms: list[str], since: dt.datetime
) -> dict[str, Counter[dt.date]]:
    zone = timezone.get_current_timezone()
    found: dict[str, Counter[dt.date]] = defaultdict(Counter)
    for row in (
        _requests(scope, since)
        .filter(staff__in=pseudonyms)
        .annotate(day=TruncDate("time", tzinfo=zone))
        .values("staff", "day")
        .annotate(n=Count("seq"))
    ):
        found[row["staff"]][row["day"]] += row["n"]
    return found


def staff_activity(
    scope: AuditorScope,
    pseudonym: str,
    member: StaffMember | None,
    *,
    days: int = 30,
    today: dt.date | None = None,
) -> StaffActivity:
    """Requests per day of the pseudonym over the last `days` days, beside the mean of their
    peers (the other staff of their department), and per affair beside the mean of the peers
    assigned to that affair in their institution. The caller has checked the scope
    (dashboard.services.staff_view); a privacy officer's counts leave 不開示 entries out."""
    today = today or timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time.min, timezone.get_current_timezone())
    day_list = [first + dt.timedelta(days=i) for i in range(days)]
    peers: list[str] = []
    if member is not None:
        peers = list(
            StaffMember.objects.filter(department_id=member.department_id)
            .exclude(pk=member.pk)
            .values_list("audit_pseudonym", flat=True)
        )
    daily = _daily(scope, [pseudonym, *peers], since)
    own = [daily[pseudonym][d] for d in day_list]
    peer_mean = [(sum(daily[p][d] for p in peers) / len(peers)) if peers else 0.0 for d in day_list]
    mine = _requests(scope, since).filter(staff=pseudonym)
    by_affair = []
    for affair, n in (
        mine.values_list("affair").annotate(n=Count("seq")).order_by("-n", "affair")[:20]
    ):
        affair_peers = (
            list(
                StaffMember.objects.filter(
                    institution_id=member.institution_id, assigned_affairs__code=affair
                )
                .exclude(pk=member.pk)
                .values_list("audit_pseudonym", flat=True)
            )
            if member is not None
            else []
        )
        peer_counts = Counter(
            dict(
                _requests(scope, since)
                .filter(staff__in=affair_peers, affair=affair)
                .values_list("staff")
                .annotate(n=Count("seq"))
            )
        )
        mean = (
            statistics.fmean([peer_counts.get(p, 0) for p in affair_peers]) if affair_peers else 0
        )
        by_affair.append((affair, n, mean, len(affair_peers)))
    outcomes = dict(mine.values_list("outcome").annotate(n=Count("seq")))
    recent = list(
        scope.apply(
            IndexedEntry.objects.filter(staff=pseudonym, time__gte=retention_cutoff())
        ).order_by("-seq")[:20]
    )
    return StaffActivity(
        pseudonym=pseudonym,
        member=member,
        days=day_list,
        own=own,
        peer_mean=peer_mean,
        peer_count=len(peers),
        by_affair=by_affair,
        outcomes=outcomes,
        recent=recent,
    )


def reveal_shown(
    scope: AuditorScope, reveal_id: Any, member: StaffMember, *, within: dt.timedelta
) -> IdentityReveal | None:
    """A reveal this officer made of this staff member in the last `within`, or None: the
    identity is shown only on the strength of a reveal of one's own, for a short while."""
    try:
        pk = int(reveal_id)
    except (TypeError, ValueError):
        return None
    return (
        IdentityReveal.objects.filter(
            pk=pk,
            officer=scope.user,
            staff=member,
            organization__code__in=scope.organizations,
            revealed_at__gte=timezone.now() - within,
        )
        .select_related("staff__user")
        .first()
    )


def staff_names(pseudonyms: set[str]) -> dict[str, StaffMember]:
    """Staff members by pseudonym, with their department (for a page's rows; the member's
    name is shown only after a reveal)."""
    return {
        s.audit_pseudonym: s
        for s in StaffMember.objects.filter(audit_pseudonym__in=pseudonyms).select_related(
            "department"
        )
    }


def iter_export(entries: QuerySet[IndexedEntry]) -> Iterator[IndexedEntry]:
    """The entries one by one, read in chunks through a server-side cursor (PostgreSQL), so
    that an export of a million rows never sits in memory."""
    return entries.iterator(chunk_size=2000)
