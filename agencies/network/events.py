"""What the network writes to the ledger: its event types, the fields of each, and the entry of
a request.

The ledger (audit) knows no network field: these declarations are what it enforces on every
append and every read (audit.entries.register_event). An entry holds codes and pseudonyms
only; docs/log-format.md lists every event type with its fields.
"""

from __future__ import annotations

from typing import Any

from agencies.models import LinkageRequest
from audit.entries import BOOLEAN, UUID, register_event, subject_pseudonym, text
from audit.ledger import PreparedEntry, entry_prepare, entry_write

INSTITUTION = text(r"[0-9]{16}")
AFFAIR = text(r"JT[0-9]{14}")
ITEM = text(r"TM[0-9]{14}")
STAFF = text(r"ST[0-9A-F]{16}")
# A case's 受付番号 is typed by a clerk: a run of 12 digits could be a My Number by mistake.
CASE = text(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}", refuse_twelve_digits=True)
OUTCOME = text(r"[a-z_]{2,24}")
REASON = text(r"[a-z_]{2,48}")
TERMINAL = text(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
# Why a provider released a 不開示 request (agencies.network.reasons.RELEASE_REASONS).
DECISION_REASON = text(r"[a-z_]{2,40}")

LINKAGE_REQUEST = "linkage.request"
LINKAGE_RELEASE = "linkage.release"
LINKAGE_DECLINE = "linkage.decline"
INTERNAL_TRANSFER = "internal.transfer"

# What every entry about a request holds (情報提供等記録: requester, provider, affair, item,
# staff, outcome and the 不開示 marker), and what it may add.
_REQUEST_FIELDS = {
    "request_id": UUID,
    "requester": INSTITUTION,
    "provider": INSTITUTION,
    "affair": AFFAIR,
    "item": ITEM,
    "staff": STAFF,
    "outcome": OUTCOME,
    "nondisclosure": BOOLEAN,
    "from_affair": AFFAIR,
    "case": CASE,
    "reason": REASON,
    "terminal": TERMINAL,
    "related_request_id": UUID,
    # The 一括照会 a request belongs to (agencies.events.BATCH_OPENED): its reason, as a case is.
    "batch": UUID,
}
_REQUIRED = ("request_id", "requester", "provider", "affair", "item", "staff", "outcome")

register_event(
    LINKAGE_REQUEST,
    fields=_REQUEST_FIELDS,
    required=(*_REQUIRED, "nondisclosure"),
    key="request_id",
    summary="情報照会: a request through the network and its outcome (provided, not_found, "
    "held, refused with a reason). A reused request id is recorded under a fresh request_id "
    "with related_request_id naming the one it tried to reuse.",
)
register_event(
    LINKAGE_RELEASE,
    fields={**_REQUEST_FIELDS, "actor": STAFF, "decision_reason": DECISION_REASON},
    required=(*_REQUIRED, "nondisclosure", "actor", "related_request_id"),
    key="request_id",
    summary="the provider released a held request (related_request_id); releasing a 不開示 "
    "one names the reason chosen (decision_reason)",
)
register_event(
    LINKAGE_DECLINE,
    fields={**_REQUEST_FIELDS, "actor": STAFF},
    required=(*_REQUIRED, "nondisclosure", "actor", "related_request_id"),
    key="request_id",
    summary="the provider declined a held request (related_request_id)",
)
register_event(
    INTERNAL_TRANSFER,
    fields=_REQUEST_FIELDS,
    required=(*_REQUIRED, "nondisclosure"),
    key="request_id",
    summary="庁内連携: data of another affair (from_affair) of the clerk's own institution used "
    "for affair, without the network. A reused request id is recorded as for 情報照会.",
)


def _request_fields(request: LinkageRequest) -> dict[str, object]:
    fields: dict[str, object] = {
        "request_id": str(request.request_id),
        "requester": request.requester.code,
        "provider": request.provider.code,
        "affair": request.affair.code,
        "item": request.item.code,
        "staff": request.staff.audit_pseudonym,
        "outcome": request.status,
        "nondisclosure": request.nondisclosure,
    }
    if request.from_affair is not None:
        fields["from_affair"] = request.from_affair.code
    if request.case is not None:
        fields["case"] = request.case.reference
    if request.reason:
        fields["reason"] = request.reason
    if request.terminal:
        fields["terminal"] = request.terminal
    if request.batch is not None:
        fields["batch"] = str(request.batch.batch_id)
    return fields


def request_entry(request: LinkageRequest, event_type: str, **extra: Any) -> PreparedEntry:
    """The ledger entry of a request, checked and serialised (not yet written): its codes,
    outcome and 不開示 marker, the subject's pseudonym, at the time it was answered (or
    sent, while held). extra adds or replaces fields (e.g. a decision's actor)."""
    subject = subject_pseudonym(str(request.subject.public_id)) if request.subject else ""
    return entry_prepare(
        event_type=event_type,
        fields={**_request_fields(request), **extra},
        subject=subject,
        moment=request.answered_at or request.requested_at,
    )


def record_request(request: LinkageRequest, event_type: str, **extra: Any) -> None:
    """Append the request's entry in the caller's transaction."""
    entry_write(request_entry(request, event_type, **extra))
