"""What a 情報照会's outcome tells whom: the requester, the provider, or nobody.

Whether a subject is 不開示 is the one fact a DV support measure exists to hide. Only the
provider that must decide a held request learns it; every other view of an outcome goes
through here, so that the API, the staff pages and the portal cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from agencies.models import LinkageRequest, LinkageStatus
from agencies.network.reasons import REASONS

# Why a request is held is the provider's to know: a requester told "nondisclosure" would learn
# that its subject is under a DV support measure, the one fact the measure exists to hide. The
# requester sees one reason for every hold, whatever the provider's copy says.
_REQUESTER_REASONS = {"nondisclosure": "held", "manual_answer": "held"}
_DECIDED_BY_HAND = frozenset({LinkageStatus.HELD, LinkageStatus.RELEASED, LinkageStatus.DECLINED})


def nondisclosure_visible_to(request: LinkageRequest, institution_id: int | None) -> bool:
    """True when institution_id may learn whether the request's subject is 不開示: only the
    provider of a request held for its manual answer (and decided by it), which must know in
    order to decide. Never the requester, and not the provider of a request answered or
    refused automatically. Auditors read the ledger, where the marker is always recorded."""
    return (
        institution_id is not None
        and request.kind == "network"
        and request.provider_id == institution_id
        and request.status in _DECIDED_BY_HAND
    )


@dataclass(frozen=True)
class LinkageOutcome:
    """What the requester gets back: the status, the reason, and the answer if provided."""

    request: LinkageRequest
    replayed: bool = False

    @property
    def conflict(self) -> bool:
        """True for a request id already used by another request: the refusal is recorded
        in the ledger, but the request itself is not stored (the id names the first one)."""
        return self.request.reason == "request_id_reused"

    @property
    def message(self) -> dict[str, str] | None:
        """The reason's code and messages as the requester may see them, or None for a plain
        answer (a hold is "held", whatever its cause)."""
        return self.message_for(self.request.requester_id)

    def message_for(self, institution_id: int | None) -> dict[str, str] | None:
        """The reason's code and messages as institution_id may see them: the cause of a hold
        only for the provider deciding it (nondisclosure_visible_to), "held" for anyone else."""
        code = self.request.reason
        if not nondisclosure_visible_to(self.request, institution_id):
            code = _REQUESTER_REASONS.get(code, code)
        reason = REASONS.get(code)
        if reason is None:
            return None
        return reason.render(
            affair=self.request.affair.code,
            item=self.request.item.code,
            requester=self.request.requester.code,
            provider=self.request.provider.code,
            day=self.request.requested_at.date().isoformat(),
            request_id=str(self.request.request_id),
            case=self.request.case.reference if self.request.case is not None else "",
        )
