"""How an entry's fields read on the dashboard: each field with its label, the name behind a
code where the reference data knows it, and the code itself. The 不開示 marker is shown to
national auditors only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from audit.entries import EntryFieldError, event_schema
from dashboard.access import AuditorScope
from portal.selectors import ReferenceNames, outcome_label

# Field labels in the order the facts are listed; any other field follows, by name.
LABELS: dict[str, Promise] = {
    "requester": _("Requester (情報照会者)"),
    "provider": _("Provider (情報提供者)"),
    "institution": _("Institution"),
    "organization": _("Organisation"),
    "affair": _("Affair (why)"),
    "from_affair": _("From affair"),
    "item": _("Item (what)"),
    "staff": _("Staff pseudonym"),
    "actor": _("Done by"),
    "case": _("Case reference"),
    "batch": _("Batch query"),
    "outcome": _("Outcome"),
    "reason": _("Reason"),
    "request_id": _("Request id"),
    "related_request_id": _("Related request id"),
    "terminal": _("Terminal"),
    "purpose": _("Purpose"),
    "relation": _("Relation"),
    "view": _("What was viewed"),
    "record": _("Record (intake id)"),
    "nondisclosure": _("Not disclosed (不開示)"),
}
_INSTITUTIONS = ("requester", "provider", "institution")
_AFFAIRS = ("affair", "from_affair")


@dataclass(frozen=True)
class FactRow:
    """One field of an entry as a page shows it."""

    key: str
    label: str
    name: str  # the name behind the code, or ""
    code: str  # the value as the ledger holds it
    link: str = ""  # "staff" or "subject": the page links to the drill-down or search


def fields_for(scope: AuditorScope, fields: Mapping[str, object]) -> dict[str, object]:
    """The fields this auditor may be shown: every one for a national auditor, all but the
    不開示 marker for a privacy officer."""
    if scope.sees_nondisclosure:
        return dict(fields)
    return {k: v for k, v in fields.items() if k != "nondisclosure"}


def fact_rows(
    scope: AuditorScope, fields: Mapping[str, object], names: ReferenceNames
) -> list[FactRow]:
    """The entry's fields, labelled and named, in the order of LABELS, then the rest."""
    shown = fields_for(scope, fields)
    order = [k for k in LABELS if k in shown] + sorted(k for k in shown if k not in LABELS)
    rows = []
    for key in order:
        value = shown[key]
        code = ("true" if value else "false") if isinstance(value, bool) else str(value)
        name = ""
        if key in _INSTITUTIONS:
            name = names.institution(code) if code in names.institutions else ""
        elif key in _AFFAIRS:
            name = names.affair(code) if code in names.affairs else ""
        elif key == "item":
            name = names.item(code) if code in names.items else ""
        elif key == "outcome":
            name = outcome_label(code)
        elif key == "nondisclosure":
            name = str(_("Yes: not disclosed to the resident")) if value else str(_("No"))
        link = "staff" if code.startswith("ST") and key in ("staff", "actor") else ""
        rows.append(FactRow(key, str(LABELS.get(key, key)), name, code, link))
    return rows


def event_summary(event_type: str) -> str:
    """What an event type means, as its app declared it."""
    try:
        return event_schema(event_type).summary
    except EntryFieldError:
        return ""
