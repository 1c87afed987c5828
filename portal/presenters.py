"""How each kind of ledger entry reads on the resident's やりとり履歴: a small registry keyed by
event type, with a generic fallback.

A presenter says which tab an entry belongs on (an exchange over the network, a 庁内連携, some
other look-up of the resident's data, or an action on their own account) and what to call it;
the row's facts (who asked, who provided, for which affair, which item, the outcome) are read
from the entry's fields by name, the same for every type. So an event type that another app
registers later, say a clerk's look-up of a household, appears with its institution, staff
department and time, marked as a look-up, without any change here; registering a presenter for
it only gives it a better name or another tab.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Category = Literal["exchange", "internal", "access", "account"]


@dataclass(frozen=True)
class Presenter:
    """How entries of one event type read.

    completes: the field naming another entry's request_id that this one completes (a held
    request's release): such an entry does not get a row of its own but gives the first
    entry's row its outcome and its provision time.
    """

    category: Category
    label: Promise | str
    completes: str | None = None


GENERIC = Presenter("access", _("Other look-up of your data"))
_PRESENTERS: dict[str, Presenter] = {}


def register_presenter(event_type: str, presenter: Presenter) -> None:
    """Show entries of event_type with presenter (the last registration wins)."""
    _PRESENTERS[event_type] = presenter


def registered_completing_types() -> list[str]:
    """The event types whose entries complete an earlier entry's row (a held request's
    release or decline)."""
    return sorted(t for t, p in _PRESENTERS.items() if p.completes)


def presenter_for(event_type: str) -> Presenter:
    """The registered presenter of event_type, or the generic one (a look-up of your data)."""
    return _PRESENTERS.get(event_type, GENERIC)


register_presenter("linkage.request", Presenter("exchange", _("Information request")))
for _decision in ("linkage.release", "linkage.decline"):
    register_presenter(
        _decision, Presenter("exchange", _("Manual answer"), completes="related_request_id")
    )
register_presenter("internal.transfer", Presenter("internal", _("Internal transfer")))
register_presenter("proxy.view", Presenter("access", _("Viewed by your proxy")))
register_presenter("card.issue", Presenter("account", _("Card issued")))
register_presenter("card.reissue", Presenter("account", _("Card reissued")))
register_presenter("card.lock", Presenter("account", _("Card locked after three wrong PINs")))
register_presenter("card.reset", Presenter("account", _("PIN reset at the counter")))
register_presenter("proxy.name", Presenter("account", _("Proxy named")))
register_presenter("proxy.accept", Presenter("account", _("Proxy accepted")))
register_presenter("proxy.end", Presenter("account", _("Proxy ended")))
register_presenter("enquiry.open", Presenter("account", _("Enquiry opened")))
register_presenter("enquiry.answer", Presenter("account", _("Enquiry answered")))
register_presenter("enquiry.close", Presenter("account", _("Enquiry closed")))


@dataclass
class Row:
    """One row of the list: an entry (and the entries that complete it), read for people.

    Codes are the ledger's; names are joined from the reference data by the selector.
    """

    intake_id: int
    seq: int | None
    event_type: str
    presenter: Presenter
    time: dt.datetime
    fields: dict[str, str | bool]
    related: list[int] = field(default_factory=list)  # intake ids of completing entries
    provision_time: dt.datetime | None = None
    outcome: str = ""
    # Joined from agencies' records where Yaritori knows more than Mynaportal shows.
    request_time: dt.datetime | None = None
    department: str = ""
    case_purpose: str = ""
    case_reference: str = ""

    @property
    def category(self) -> Category:
        return self.presenter.category

    @property
    def requester(self) -> str:
        value = self.fields.get("requester") or self.fields.get("institution") or ""
        return str(value)

    @property
    def provider(self) -> str:
        return str(self.fields.get("provider", ""))

    @property
    def affair(self) -> str:
        return str(self.fields.get("affair", ""))

    @property
    def from_affair(self) -> str:
        return str(self.fields.get("from_affair", ""))

    @property
    def item(self) -> str:
        return str(self.fields.get("item", ""))

    @property
    def staff(self) -> str:
        value = self.fields.get("staff") or self.fields.get("actor") or ""
        return str(value) if str(value).startswith("ST") else ""

    @property
    def request_id(self) -> str:
        return str(self.fields.get("request_id", ""))

    @property
    def codes(self) -> set[str]:
        """Every institution code of the row (for the institution filter)."""
        return {c for c in (self.requester, self.provider) if c}
