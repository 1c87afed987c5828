"""One entry's facts as the ledger holds them, and the organisations it concerns.

Both the search index (dashboard.indexer) and every page about one entry use organisations_of,
so a privacy officer's scope is decided the same way for a list and for a single entry; a page
about one entry re-reads the leaf from the ledger, so what it states (and whether the viewer
may see it) never depends on the index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from agencies.models import Institution, Organization
from audit.entries import LedgerRecord, parse_leaf
from audit.models import LedgerEntry
from core.cache import ProcessCache

# The fields that name an institution (16 digits) or an organisation (6 digits).
INSTITUTION_FIELDS = ("requester", "provider", "institution")
ORGANIZATION_FIELD = "organization"


def _load_map(_: str) -> dict[str, str]:
    return dict(Institution.objects.values_list("code", "organization__code"))


# A minute, cleared at once by a change in this process: institutions rarely change, and the
# indexer and every entry page ask.
_institution_orgs: ProcessCache[str, dict[str, str]] = ProcessCache(
    "dashboard-institution-organizations", ttl=60.0, load=_load_map
)
_institution_orgs.clear_on_change(Institution, Organization)


def institution_organizations() -> dict[str, str]:
    """機関コード -> 団体コード of every institution (cached a minute per process)."""
    found = _institution_orgs.get("all")
    assert found is not None
    return found


def organizations_of(fields: Mapping[str, object]) -> frozenset[str]:
    """The organisation codes an entry's fields concern: those of its requester, provider and
    institution, and the organisation it names. An institution code unknown here concerns no
    organisation (only national auditors see such an entry)."""
    known = institution_organizations()
    found = {known[str(fields[f])] for f in INSTITUTION_FIELDS if str(fields.get(f, "")) in known}
    organization = fields.get(ORGANIZATION_FIELD)
    if isinstance(organization, str) and organization:
        found.add(organization)
    return frozenset(found)


@dataclass(frozen=True)
class EntryFacts:
    """A sequenced entry read from the ledger: its position, its leaf and hashes, what the
    leaf says, and the organisations it concerns."""

    seq: int
    intake_id: int
    recorded_at: dt.datetime
    integrated_at: dt.datetime
    leaf: str
    leaf_hash: bytes
    chain_hash: bytes
    record: LedgerRecord
    organizations: frozenset[str]

    @property
    def fields(self) -> Mapping[str, str | bool]:
        return self.record.fields

    @property
    def subject(self) -> str:
        return self.record.subject

    @property
    def nondisclosure(self) -> bool:
        """Whether the entry carries the 不開示 marker (a DV support measure)."""
        return self.record.fields.get("nondisclosure") is True


def entry_facts(seq: int | None = None, *, intake_id: int | None = None) -> EntryFacts | None:
    """Entry seq (or the entry of an intake id) as the ledger holds it, or None when no
    sequenced entry is there."""
    if seq is not None:
        found = LedgerEntry.objects.filter(seq=seq)
    elif intake_id is not None:
        found = LedgerEntry.objects.filter(intake_id=intake_id)
    else:
        return None
    entry = (
        found.select_related("intake")
        .only(
            "seq",
            "leaf_hash",
            "chain_hash",
            "integrated_at",
            "intake__id",
            "intake__leaf",
            "intake__created_at",
        )
        .first()
    )
    if entry is None:
        return None
    record = parse_leaf(entry.intake.leaf)
    return EntryFacts(
        seq=entry.seq,
        intake_id=entry.intake.id,
        recorded_at=entry.intake.created_at,
        integrated_at=entry.integrated_at,
        leaf=entry.intake.leaf,
        leaf_hash=bytes(entry.leaf_hash),
        chain_hash=bytes(entry.chain_hash),
        record=record,
        organizations=organizations_of(record.fields),
    )
