"""The permitted table (別表第二 and its 主務省令) as the network applies it, cached per process.

It is read on every request; the table changes by ordinance. Every change made in this process
clears the cache at once, so the time to live (a minute) bounds staleness only for changes
made by another process.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from agencies.models import Affair, InformationItem, Institution, LinkageRule, OrdinanceRule
from core.cache import ProcessCache

RULES_TTL = 60.0


@dataclass(frozen=True)
class _Table:
    by_affair_item: dict[tuple[int, int], list[LinkageRule]]
    consent: frozenset[tuple[int, int]]  # (item, affair) pairs that need the person's consent


def _load(_: None) -> _Table:
    by_key: dict[tuple[int, int], list[LinkageRule]] = defaultdict(list)
    for rule in LinkageRule.objects.all():
        by_key[(rule.affair_id, rule.item_id)].append(rule)
    consent = InformationItem.consent_affairs.through.objects.values_list(
        "informationitem_id", "affair_id"
    )
    return _Table(dict(by_key), frozenset(consent))


_table: ProcessCache[None, _Table] = ProcessCache("permitted-table", ttl=RULES_TTL, load=_load)
_table.clear_on_change(LinkageRule, InformationItem.consent_affairs.through)


def _current() -> _Table:
    table = _table.get(None)
    assert table is not None  # _load always returns a table
    return table


def clear_rules_cache() -> None:
    """Forget the cached permitted table in this process."""
    _table.clear()


def consent_required(*, item: InformationItem, affair: Affair) -> bool:
    """True when querying item for affair needs the person's consent (cached with the table)."""
    return (item.pk, affair.pk) in _current().consent


def _side_matches(
    rule_institution_id: int | None, rule_capacity: str, institution: Institution
) -> bool:
    if institution.merged_into_id is not None:
        return False  # a merged institution takes no new part in linkage
    if rule_institution_id is not None:
        return rule_institution_id == institution.pk
    return institution.holds(rule_capacity)


def requester_matches(rule: LinkageRule, requester: Institution) -> bool:
    """Whether rule's requesting side is requester (named, or holding its capacity)."""
    return _side_matches(rule.requester_institution_id, rule.requester_capacity, requester)


def provider_matches(rule: LinkageRule, provider: Institution) -> bool:
    """Whether rule's providing side is provider (named, or holding its capacity): a row of
    the table names exactly the institutions that hold its provider capacity."""
    return _side_matches(rule.provider_institution_id, rule.provider_capacity, provider)


def rules_for_requester(*, requester: Institution, affair_id: int) -> list[LinkageRule]:
    """Rows of the permitted table for affair whose requesting side is requester, any item,
    any provider, valid on any date."""
    return [
        rule
        for (affair_pk, _), rules in _current().by_affair_item.items()
        if affair_pk == affair_id
        for rule in rules
        if requester_matches(rule, requester)
    ]


def permitted_rules(
    *, requester: Institution, affair: Affair, provider: Institution, item: InformationItem
) -> list[LinkageRule]:
    """Rows of the permitted table for this combination, valid on any date."""
    return [
        rule
        for rule in _current().by_affair_item.get((affair.pk, item.pk), [])
        if requester_matches(rule, requester) and provider_matches(rule, provider)
    ]


@dataclass(frozen=True)
class Route:
    """One query the law allows a requester: (affair, item, provider) of the permitted table
    over the network, or, for 庁内連携 (internal), (affair, item, from_affair) of the
    organisation's ordinance, answered by the requester's own institution (from_affair None:
    a register that is no affair, such as the 住民基本台帳)."""

    affair: Affair
    item: InformationItem
    provider: Institution
    internal: bool = False
    from_affair: Affair | None = None

    @property
    def key(self) -> str:
        """A stable form value naming the route by primary keys."""
        if self.internal:
            source = self.from_affair.pk if self.from_affair is not None else 0
            return f"i:{self.affair.pk}:{self.item.pk}:{source}"
        return f"{self.affair.pk}:{self.item.pk}:{self.provider.pk}"


def permitted_routes(*, requester: Institution, affairs: list[Affair], day: dt.date) -> list[Route]:
    """Every (affair, item, provider) that the network would let requester query on day.

    Only affairs that may use the network on day, rules in force on day whose requester side
    matches, and providers other than the requester itself (that would be 庁内連携). The gate
    stays the authority; this only keeps a form from offering a query the network would
    refuse by law.
    """
    by_pk = {a.pk: a for a in affairs if a.linkage_allowed_on(day)}
    matching = [
        rule
        for (affair_pk, _), rules in _current().by_affair_item.items()
        if affair_pk in by_pk
        for rule in rules
        if rule.valid_on(day) and requester_matches(rule, requester)
    ]
    if not matching:
        return []
    items = InformationItem.objects.in_bulk({rule.item_id for rule in matching})
    institutions = list(Institution.objects.select_related("organization").exclude(pk=requester.pk))
    routes = {
        Route(by_pk[rule.affair_id], items[rule.item_id], provider)
        for rule in matching
        for provider in institutions
        if provider_matches(rule, provider)
    }
    return sorted(routes, key=lambda r: (r.affair.code, r.item.code, r.provider.code))


def ordinance_routes(
    *, institution: Institution, affairs: list[Affair], day: dt.date
) -> list[Route]:
    """Every 庁内連携 the organisation's ordinance allows institution's affairs on day: one
    route per (using affair, item, providing affair) of a row in force, answered from the
    institution's own records. The gate (internal_refusal_reason) stays the authority."""
    if institution.merged_into_id is not None:
        return []
    by_pk = {a.pk: a for a in affairs}
    rows = OrdinanceRule.objects.filter(
        organization_id=institution.organization_id, affair_id__in=list(by_pk)
    ).select_related("item", "from_affair")
    routes = {
        Route(
            by_pk[row.affair_id], row.item, institution, internal=True, from_affair=row.from_affair
        )
        for row in rows
        if row.valid_on(day)
    }
    return sorted(
        routes,
        key=lambda r: (r.affair.code, r.item.code, r.from_affair.code if r.from_affair else ""),
    )
