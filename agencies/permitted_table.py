"""The permitted table as the product's reference data: agencies/data/permitted_table.json
(番号法別表第二 and its 主務省令: information items, statutory affairs and the rows that permit
them; sources in agencies/data/README.md), loaded into the database.

The load adds what is missing and never deletes or rewrites a row that exists: a deployment's
table is changed by ordinance and notification, through its own records, not by a file.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.db import transaction

from agencies.events import (
    ORDINANCE_ADDED,
    ORDINANCE_ENDED,
    RULE_ADDED,
    RULE_ENDED,
    record_change,
)
from agencies.models import (
    Affair,
    InformationItem,
    LegalBasis,
    LinkageRule,
    OrdinanceRule,
    Organization,
)

DATA_FILE = Path(__file__).resolve().parent / "data" / "permitted_table.json"


@cache
def permitted_table_data() -> dict[str, Any]:
    """The parsed permitted_table.json (read once per process)."""
    with DATA_FILE.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@dataclass(frozen=True)
class LoadCounts:
    """How many rows a load added (rows already there are left as they are)."""

    items: int
    affairs: int
    rules: int


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def affairs_load(
    affairs: Iterable[Mapping[str, Any]], *, owners: Mapping[str, Any] | None = None
) -> list[Affair]:
    """Create each affair (by code) that does not exist, validated; return every affair named.
    owners maps an ordinance owner's organisation code to its row (independent-use affairs)."""
    result = []
    for a in affairs:
        affair = Affair.objects.filter(code=a["code"]).first()
        if affair is None:
            affair = Affair(
                code=a["code"],
                name=a["name"],
                basis=LegalBasis(a["basis"]),
                statute=a.get("statute", ""),
                table_row=a.get("table_row", ""),
                owner_organization=(owners or {}).get(a.get("owner_organization") or ""),
                ordinance=a.get("ordinance", ""),
                notification_number=a.get("notification_number", ""),
                notified_on=_date(a.get("notified_on")),
            )
            affair.full_clean()
            affair.save()
        result.append(affair)
    return result


def rules_load(rules: Iterable[Mapping[str, Any]], *, actor: str = "system") -> int:
    """Create each rule (by requester capacity, affair, provider capacity, item and start)
    that does not exist, each recorded (rule.added); return how many were created. Affairs and
    items must exist."""
    affairs = Affair.objects.in_bulk(field_name="code")
    items = InformationItem.objects.in_bulk(field_name="code")
    existing = set(
        LinkageRule.objects.values_list(
            "requester_capacity", "affair__code", "provider_capacity", "item__code", "valid_from"
        )
    )
    new = []
    for r in rules:
        valid_from = dt.date.fromisoformat(r["valid_from"])
        key = (r["requester_capacity"], r["affair"], r["provider_capacity"], r["item"], valid_from)
        if key in existing:
            continue
        existing.add(key)
        new.append(
            LinkageRule(
                requester_capacity=r["requester_capacity"],
                affair=affairs[r["affair"]],
                provider_capacity=r["provider_capacity"],
                item=items[r["item"]],
                valid_from=valid_from,
                valid_to=_date(r.get("valid_to")),
                table_row=r["table_row"],
                source=r["source"],
            )
        )
    LinkageRule.objects.bulk_create(new)
    for rule in new:
        _record_rule(RULE_ADDED, rule, actor)
    return len(new)


@transaction.atomic
def permitted_table_load(data: Mapping[str, Any] | None = None) -> LoadCounts:
    """Load the permitted table (by default agencies/data/permitted_table.json) in one
    transaction: items, statutory affairs, the items' consent affairs, and the rules."""
    data = data or permitted_table_data()
    items_before = InformationItem.objects.count()
    affairs_before = Affair.objects.count()
    for i in data["items"]:
        if not InformationItem.objects.filter(code=i["code"]).exists():
            item = InformationItem(code=i["code"], name=i["name"], category=i["category"])
            item.full_clean()
            item.save()
    affairs_load(data["affairs"])
    by_code = Affair.objects.in_bulk(field_name="code")
    for i in data["items"]:
        if i.get("consent_affairs"):
            item = InformationItem.objects.get(code=i["code"])
            item.consent_affairs.add(*[by_code[c] for c in i["consent_affairs"]])
    rules = rules_load(data["rules"])
    return LoadCounts(
        items=InformationItem.objects.count() - items_before,
        affairs=Affair.objects.count() - affairs_before,
        rules=rules,
    )


@transaction.atomic
def rule_add(
    *,
    affair: Affair,
    item: InformationItem,
    requester_capacity: str,
    provider_capacity: str,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    table_row: str = "",
    source: str = "",
    actor: str,
) -> LinkageRule:
    """Add a row of the permitted table (validated). Recorded (rule.added)."""
    rule = LinkageRule(
        affair=affair,
        item=item,
        requester_capacity=requester_capacity,
        provider_capacity=provider_capacity,
        valid_from=valid_from,
        valid_to=valid_to,
        table_row=table_row,
        source=source,
    )
    rule.full_clean()
    rule.save()
    _record_rule(RULE_ADDED, rule, actor)
    return rule


@transaction.atomic
def rule_end(*, rule: LinkageRule, last_day: dt.date, actor: str) -> LinkageRule:
    """End a row of the permitted table on last_day (rows are never deleted: the history of
    what was permitted when stays readable). A row already ending earlier is left as it is.
    Recorded (rule.ended)."""
    rule = LinkageRule.objects.select_for_update().get(pk=rule.pk)
    if rule.valid_to is not None and rule.valid_to <= last_day:
        return rule
    rule.valid_to = max(last_day, rule.valid_from)
    rule.save(update_fields=["valid_to"])
    _record_rule(RULE_ENDED, rule, actor)
    return rule


def _record_rule(event_type: str, rule: LinkageRule, actor: str) -> None:
    record_change(
        event_type=event_type,
        fields={
            "table_row": rule.table_row.replace("の", "-").replace(" ", ""),
            "affair": rule.affair.code,
            "item": rule.item.code,
            "requester_capacity": rule.requester_capacity,
            "provider_capacity": rule.provider_capacity,
            "requester": rule.requester_institution.code if rule.requester_institution else None,
            "provider": rule.provider_institution.code if rule.provider_institution else None,
            "valid_from": rule.valid_from,
            "valid_to": rule.valid_to,
            "actor": actor,
        },
    )


@transaction.atomic
def ordinance_rule_add(
    *,
    organization: Organization,
    affair: Affair,
    item: InformationItem,
    from_affair: Affair | None,
    ordinance: str,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    actor: str,
    moment: dt.datetime | None = None,
) -> OrdinanceRule:
    """Add a row of an organisation's ordinance table (条例で定める庁内利用). Recorded
    (ordinance.added) at moment, by default now: a table loaded for a world that already ran
    (the demo's, whose traffic goes back in time) is recorded when it took effect."""
    rule = OrdinanceRule(
        organization=organization,
        affair=affair,
        item=item,
        from_affair=from_affair,
        ordinance=ordinance,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    rule.full_clean()
    rule.save()
    _record_ordinance(ORDINANCE_ADDED, rule, actor, moment=moment)
    return rule


@transaction.atomic
def ordinance_rule_end(*, rule: OrdinanceRule, last_day: dt.date, actor: str) -> OrdinanceRule:
    """End a row of an ordinance table on last_day (never deleted). Recorded
    (ordinance.ended)."""
    rule = OrdinanceRule.objects.select_for_update().get(pk=rule.pk)
    if rule.valid_to is not None and rule.valid_to <= last_day:
        return rule
    rule.valid_to = max(last_day, rule.valid_from)
    rule.save(update_fields=["valid_to"])
    _record_ordinance(ORDINANCE_ENDED, rule, actor)
    return rule


def _record_ordinance(
    event_type: str, rule: OrdinanceRule, actor: str, *, moment: dt.datetime | None = None
) -> None:
    record_change(
        event_type=event_type,
        fields={
            "organization": rule.organization.code,
            "affair": rule.affair.code,
            "item": rule.item.code,
            "from_affair": rule.from_affair.code if rule.from_affair else None,
            "valid_from": rule.valid_from,
            "valid_to": rule.valid_to,
            "actor": actor,
        },
        moment=moment,
    )
