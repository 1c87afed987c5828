"""Reads of the portal: a resident's records from the ledger, their cards, mandates, enquiries.

The records are the ledger's own entries about the resident (LedgerIntake by the subject
pseudonym, an index), each read back with audit.entries.read_leaf and shown through
portal.presenters; names of institutions, affairs and items are joined from agencies'
reference data. Entries carrying the 不開示 marker (nondisclosure: true) never leave this
module: not in a list, a count, a facet, a CSV or a proof.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from django.db.models import Q
from django.utils import timezone

from agencies.models import (
    Affair,
    InformationItem,
    Institution,
    LinkageRequest,
    Person,
    StaffMember,
)
from audit.entries import LedgerRecord, read_leaf, subject_pseudonym
from audit.ledger import retention_cutoff
from audit.models import LedgerIntake
from core.cache import ProcessCache
from portal.models import Card, Enquiry, MailSubscription, MandateStatus, Notice, ProxyMandate
from portal.presenters import Row, presenter_for, registered_completing_types

# --- reference names ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceNames:
    """Names by code: institutions (with their organisation), affairs, items."""

    institutions: dict[str, str]
    affairs: dict[str, Affair]
    items: dict[str, str]

    def institution(self, code: str) -> str:
        return self.institutions.get(code, code)

    def affair(self, code: str) -> str:
        found = self.affairs.get(code)
        return found.name if found is not None else code

    def item(self, code: str) -> str:
        return self.items.get(code, code)


def _load_names(_: str) -> ReferenceNames:
    return ReferenceNames(
        institutions={
            i.code: str(i) for i in Institution.objects.select_related("organization").all()
        },
        affairs=Affair.objects.in_bulk(field_name="code"),
        items=dict(InformationItem.objects.values_list("code", "name")),
    )


# A minute, and cleared at once by a change in this process (core.cache): these tables change
# by ordinance, and every list page names dozens of their rows.
_names: ProcessCache[str, ReferenceNames] = ProcessCache(
    "portal-reference-names", ttl=60.0, load=_load_names
)
_names.clear_on_change(Institution, Affair, InformationItem)


def reference_names() -> ReferenceNames:
    """The reference names, cached per process for a minute."""
    names = _names.get("all")
    assert names is not None
    return names


# --- records --------------------------------------------------------------------------------


@lru_cache(maxsize=100_000)
def _parse(leaf: str) -> LedgerRecord:
    # Leaves never change (the ledger is append-only), so a parsed leaf is valid forever;
    # parsing is most of a list page's own work. The log's own rows are read without checking
    # them again (read_leaf): the resident's browser verifies each shown record's leaf hash.
    return read_leaf(leaf)


def _disclosed(record: LedgerRecord) -> bool:
    """False for an entry covered by a DV support measure (不開示): shown only at the counter
    and to auditors, never through the portal."""
    return record.fields.get("nondisclosure") is not True


@dataclass(frozen=True)
class RecordFilter:
    """The list's filters; empty strings mean "any"."""

    tab: str = "exchange"  # exchange (with other look-ups), internal, account
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    institution: str = ""
    affair: str = ""
    item: str = ""


TABS = {"exchange": ("exchange", "access"), "internal": ("internal",), "account": ("account",)}


@dataclass
class RecordList:
    """A resident's disclosed records for one tab, newest first, and the filter choices."""

    rows: list[Row]
    counts: dict[str, int]  # per tab, before the filters other than the period
    institutions: list[tuple[str, str]] = field(default_factory=list)
    affairs: list[tuple[str, str]] = field(default_factory=list)
    items: list[tuple[str, str]] = field(default_factory=list)


def _window(date_from: dt.date | None, date_to: dt.date | None) -> Q:
    window = Q(created_at__gte=retention_cutoff())
    zone = timezone.get_current_timezone()
    if date_from is not None:
        window &= Q(created_at__gte=dt.datetime.combine(date_from, dt.time.min, zone))
    if date_to is not None:
        upto = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, zone)
        window &= Q(created_at__lt=upto)
    return window


def _rows(pseudonym: str, window: Q) -> list[Row]:
    """Every disclosed row of the subject in the window, completions folded in, newest first."""
    entries = (
        LedgerIntake.objects.filter(window, subject=pseudonym)
        .order_by("created_at", "id")
        .values_list("id", "leaf", "entry__seq")
    )
    rows: list[Row] = []
    by_request: dict[str, Row] = {}
    for intake_id, leaf, seq in entries:
        record = _parse(leaf)
        if not _disclosed(record):
            continue
        presenter = presenter_for(record.event_type)
        fields = dict(record.fields)
        if presenter.completes:
            first = by_request.get(str(fields.get(presenter.completes, "")))
            if first is not None:
                first.related.append(intake_id)
                first.outcome = str(fields.get("outcome", first.outcome))
                first.provision_time = record.time
                continue
        row = Row(
            intake_id=intake_id,
            seq=seq,
            event_type=record.event_type,
            presenter=presenter,
            time=record.time,
            fields=fields,
            outcome=str(fields.get("outcome", "")),
        )
        if row.outcome == "provided":
            row.provision_time = record.time
        if row.request_id:
            by_request.setdefault(row.request_id, row)
        rows.append(row)
    rows.reverse()
    return rows


def records_of(*, subject: Person, filters: RecordFilter) -> RecordList:
    """The subject's disclosed records on filters.tab, newest first, filtered; with the
    counts per tab and the choices of institution, affair and item the records offer."""
    rows = _rows(
        subject_pseudonym(str(subject.public_id)), _window(filters.date_from, filters.date_to)
    )
    counts = dict.fromkeys(TABS, 0)
    for row in rows:
        for tab, categories in TABS.items():
            if row.category in categories:
                counts[tab] += 1
    categories = TABS.get(filters.tab, TABS["exchange"])
    on_tab = [r for r in rows if r.category in categories]
    names = reference_names()
    result = RecordList(
        rows=[
            r
            for r in on_tab
            if (not filters.institution or filters.institution in r.codes)
            and (not filters.affair or filters.affair in (r.affair, r.from_affair))
            and (not filters.item or filters.item == r.item)
        ],
        counts=counts,
    )
    result.institutions = sorted(
        {(c, names.institution(c)) for r in on_tab for c in r.codes}, key=lambda p: p[1]
    )
    result.affairs = sorted(
        {(r.affair, names.affair(r.affair)) for r in on_tab if r.affair}, key=lambda p: p[0]
    )
    result.items = sorted(
        {(r.item, names.item(r.item)) for r in on_tab if r.item}, key=lambda p: p[0]
    )
    return result


def rows_enrich(rows: Iterable[Row]) -> None:
    """Join what Yaritori knows beyond the ledger's codes, for the rows to be shown: the time
    each request was sent (its entry carries the time it was answered), the staff member's
    department, and the case the request served. Two queries, whatever the number of rows."""
    rows = list(rows)
    request_ids = []
    for r in rows:
        try:
            request_ids.append(uuid.UUID(r.request_id))
        except ValueError:
            continue
    requests = {
        str(req.request_id): req
        for req in LinkageRequest.objects.filter(request_id__in=request_ids)
        .select_related("case__affair")
        .only("request_id", "requested_at", "answered_at", "case__reference", "case__affair__name")
    }
    staff = {
        s.audit_pseudonym: s
        for s in StaffMember.objects.filter(
            audit_pseudonym__in={r.staff for r in rows if r.staff}
        ).select_related("department")
    }
    for r in rows:
        request = requests.get(r.request_id)
        if request is not None:
            r.request_time = request.requested_at
            if request.case is not None:
                r.case_reference = request.case.reference
                r.case_purpose = request.case.affair.name
        member = staff.get(r.staff)
        if member is not None:
            r.department = member.department.name


def record_of(*, subject: Person, intake_id: int) -> Row | None:
    """One disclosed record of the subject by its intake id, with the entries that complete
    it, or None: another resident's record, a 不開示 one and one past retention alike."""
    pseudonym = subject_pseudonym(str(subject.public_id))
    window = _window(None, None)
    found = (
        LedgerIntake.objects.filter(window, pk=intake_id, subject=pseudonym)
        .values_list("id", "leaf", "entry__seq")
        .first()
    )
    if found is None:
        return None
    record = _parse(found[1])
    if not _disclosed(record):
        return None
    fields = dict(record.fields)
    row = Row(
        intake_id=found[0],
        seq=found[2],
        event_type=record.event_type,
        presenter=presenter_for(record.event_type),
        time=record.time,
        fields=fields,
        outcome=str(fields.get("outcome", "")),
    )
    if row.outcome == "provided":
        row.provision_time = record.time
    if row.request_id and not row.presenter.completes:
        # Only the few entries of completing types are read (a release after a hold), through
        # the subject index, not every later entry of the resident.
        completing = registered_completing_types()
        for pk, leaf in (
            LedgerIntake.objects.filter(window, subject=pseudonym, event_type__in=completing)
            .filter(id__gt=row.intake_id)
            .order_by("id")
            .values_list("id", "leaf")
        ):
            later = _parse(leaf)
            completes = presenter_for(later.event_type).completes
            if completes and later.fields.get(completes) == row.request_id and _disclosed(later):
                row.related.append(pk)
                row.outcome = str(later.fields.get("outcome", row.outcome))
                row.provision_time = later.time
    rows_enrich([row])
    return row


def intake_ids_with_seq(intake_ids: Iterable[int]) -> dict[int, tuple[int | None, str]]:
    """(seq or None, leaf) of each intake id."""
    return {
        pk: (seq, leaf)
        for pk, seq, leaf in LedgerIntake.objects.filter(pk__in=list(intake_ids)).values_list(
            "id", "entry__seq", "leaf"
        )
    }


def outcome_label(code: str) -> str:
    """The outcome's name in the active language (the network's statuses), or the code."""
    from agencies.models import LinkageStatus

    try:
        return str(LinkageStatus(code).label)
    except ValueError:
        return code


# --- cards, mandates, enquiries, notices ---------------------------------------------------------


def card_by_serial(serial: str) -> Card | None:
    """The live (not revoked) card with this serial, with its holder."""
    return (
        Card.objects.select_related("person").filter(serial=serial, revoked_at__isnull=True).first()
    )


def live_card_of(person: Person) -> Card | None:
    """The person's card that is not revoked, if any."""
    return Card.objects.filter(person=person, revoked_at__isnull=True).first()


def mandates_as_principal(person: Person) -> list[ProxyMandate]:
    """The person's mandates as principal that have not ended, newest first."""
    return list(
        ProxyMandate.objects.filter(principal=person)
        .exclude(status=MandateStatus.ENDED)
        .select_related("proxy")
        .order_by("-created_at")
    )


def mandates_as_proxy(person: Person) -> list[ProxyMandate]:
    """The mandates in which the person is the proxy and that have not ended."""
    return list(
        ProxyMandate.objects.filter(proxy=person)
        .exclude(status=MandateStatus.ENDED)
        .select_related("principal")
        .order_by("-created_at")
    )


def active_mandate(*, proxy: Person, public_id: uuid.UUID) -> ProxyMandate | None:
    """The active mandate public_id in which `proxy` is the proxy, or None: pending, ended,
    another person's, and any mandate of a principal protected from disclosure (DV 支援措置),
    who can have no proxy."""
    return (
        ProxyMandate.objects.select_related("principal")
        .filter(
            public_id=public_id,
            proxy=proxy,
            status=MandateStatus.ACTIVE,
            principal__disclosure_protected=False,
        )
        .first()
    )


def enquiries_of(person: Person) -> list[Enquiry]:
    """The person's enquiries, newest first."""
    return list(Enquiry.objects.filter(person=person).order_by("-created_at"))


def enquiries_about(*, person: Person, intake_id: int) -> list[Enquiry]:
    """The person's enquiries about one record, newest first."""
    return list(Enquiry.objects.filter(person=person, intake_id=intake_id).order_by("-created_at"))


def notices_of(person: Person, limit: int = 20) -> list[Notice]:
    """The person's latest notices."""
    return list(Notice.objects.filter(person=person).order_by("-created_at")[:limit])


def mail_subscription_of(person: Person) -> MailSubscription | None:
    """The person's mail subscription, if they registered an address."""
    return MailSubscription.objects.filter(person=person).first()
