"""What a 一括照会 (batch query) explains, as the gate sees it.

A batch is the reason behind its requests, as a case is: it explains a request only for its
own department (the operator's), its own affair, and its own route (item and provider). A
request that names a batch of another department, affair or route is refused, like a request
under another department's case. Pure: the batch is loaded by the caller.
"""

from __future__ import annotations

from agencies.models import Affair, Batch, InformationItem, Institution, StaffMember


def batch_refusal_reason(
    *,
    batch: Batch,
    staff: StaffMember,
    affair: Affair,
    item: InformationItem,
    provider: Institution,
) -> str:
    """The refusal reason when batch does not explain this request, or ""."""
    if batch.department_id != staff.department_id:
        return "batch_other_department"
    if batch.affair_id != affair.pk:
        return "batch_affair_mismatch"
    if batch.item_id != item.pk or batch.provider_id != provider.pk:
        return "batch_route_mismatch"
    return ""
