"""一括照会 (batch queries): a department's batch job of 情報照会 for many of its residents at
once, e.g. the yearly 現況 check of 児童手当.

batch_open checks and records the job (batch.opened); batch_send sends its requests one by
one through the network service, as the network allows: each is gated, answered and recorded
like any other 情報照会, and names its batch. A request's id is derived from the batch and the
subject, so sending again (a retried or resumed job, two workers at once) replays the requests
already sent instead of sending them twice. Progress is read from the requests themselves.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from agencies.events import BATCH_OPENED
from agencies.models import (
    MAX_BATCH_SUBJECTS,
    AddresseeNumber,
    Affair,
    Batch,
    BatchPurpose,
    InformationItem,
    Institution,
    LinkageRequest,
    LinkageStatus,
    StaffMember,
)
from agencies.network.rules import permitted_rules
from agencies.network.services import linkage_request_send
from audit.ledger import ledger_append

# How many line numbers an error names at most: enough to find the mistakes in a long list.
_LINES_SHOWN = 10
_IN_CHUNK = 500  # values per IN (...) when resolving a long list


class BatchError(Exception):
    """A batch cannot be opened as asked. The message says why (translated when shown) and
    names no person and no number: a wrong line is named by its line number only, since a
    line typed by mistake could be anything, a My Number included."""

    def __init__(self, message: object, *, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


def _lines(positions: Iterable[int]) -> str:
    shown = sorted(positions)
    text = "、".join(str(p) for p in shown[:_LINES_SHOWN])
    return text + ("…" if len(shown) > _LINES_SHOWN else "")


def _resolve(organization_id: int, numbers: Sequence[str]) -> set[str]:
    """Which of numbers are 宛名番号 of the organisation."""
    found: set[str] = set()
    for start in range(0, len(numbers), _IN_CHUNK):
        chunk = numbers[start : start + _IN_CHUNK]
        found.update(
            AddresseeNumber.objects.filter(
                organization_id=organization_id, number__in=chunk
            ).values_list("number", flat=True)
        )
    return found


def _check_subjects(organization_id: int, numbers: Sequence[str]) -> None:
    if not numbers:
        raise BatchError(_("List at least one addressee number."), field="subjects")
    if len(numbers) > MAX_BATCH_SUBJECTS:
        raise BatchError(
            ngettext_lazy(
                "A batch query concerns at most %(max)d resident; split the list.",
                "A batch query concerns at most %(max)d residents; split the list.",
                MAX_BATCH_SUBJECTS,
            )
            % {"max": MAX_BATCH_SUBJECTS},
            field="subjects",
        )
    seen: Counter[str] = Counter()
    repeated = []
    for line, number in enumerate(numbers, start=1):
        seen[number] += 1
        if seen[number] > 1:
            repeated.append(line)
    if repeated:
        raise BatchError(
            _("Lines %(lines)s repeat an earlier line.") % {"lines": _lines(repeated)},
            field="subjects",
        )
    known = _resolve(organization_id, numbers)
    unknown = [line for line, number in enumerate(numbers, start=1) if number not in known]
    if unknown:
        raise BatchError(
            _("Lines %(lines)s: no resident of your organisation has this addressee number.")
            % {"lines": _lines(unknown)},
            field="subjects",
        )


@transaction.atomic
def batch_open(
    *,
    staff: StaffMember,
    affair: Affair,
    item: InformationItem,
    provider: Institution,
    purpose: str,
    addressee_numbers: Sequence[str],
    now: dt.datetime | None = None,
) -> Batch:
    """Open a batch query of the staff member's department: item of provider for affair,
    for each resident of the organisation named by its 宛名番号, in the order given.

    The staff member must be assigned to the affair, the permitted table must allow the
    route on the day (a batch of refusals would explain nothing), and every number must be a
    宛名番号 of the organisation, each once, at most MAX_BATCH_SUBJECTS (BatchError
    otherwise, nothing written). The opening is recorded (batch.opened) in the same
    transaction. Sending is batch_send's, usually from the task agencies.batch_send.
    """
    moment = now or timezone.now()
    day = timezone.localdate(moment)
    requester = staff.institution
    if not staff.assigned_affairs.filter(pk=affair.pk).exists():
        raise BatchError(_("You are not assigned to this affair."), field="route")
    if provider.pk == requester.pk:
        raise BatchError(
            _("The provider is your own institution: that is internal transfer, not linkage."),
            field="route",
        )
    rules = permitted_rules(requester=requester, affair=affair, provider=provider, item=item)
    if not affair.linkage_allowed_on(day) or not any(rule.valid_on(day) for rule in rules):
        raise BatchError(_("The permitted table does not allow this query today."), field="route")
    if purpose not in BatchPurpose.values:
        raise BatchError(_("Choose the purpose of the batch query."), field="purpose")
    numbers = list(addressee_numbers)
    _check_subjects(requester.organization_id, numbers)
    batch = Batch.objects.create(
        department=staff.department,
        affair=affair,
        item=item,
        provider=provider,
        purpose=purpose,
        subjects=numbers,
        subject_count=len(numbers),
        opened_by=staff,
        opened_at=moment,
    )
    ledger_append(
        event_type=BATCH_OPENED,
        fields={
            "batch": str(batch.batch_id),
            "affair": affair.code,
            "institution": requester.code,
            "department": staff.department.code,
            "staff": staff.audit_pseudonym,
            "purpose": purpose,
            "subjects": str(len(numbers)),
        },
        moment=moment,
    )
    return batch


def batch_request_id(batch: Batch, addressee_number: str) -> uuid.UUID:
    """The request id of the batch's request for one subject: the same on every run, so a
    resumed or repeated run replays a request already sent instead of sending it again."""
    return uuid.uuid5(batch.batch_id, addressee_number)


def batch_terminal(batch: Batch) -> str:
    """The terminal the ledger records for a batch's requests: the batch job, not a desk."""
    return "BATCH-" + batch.batch_id.hex[:12].upper()


def batch_send(*, batch_id: int, limit: int | None = None, now: dt.datetime | None = None) -> int:
    """Send the batch's requests not sent yet, in list order, at most limit of them; returns
    how many remain. Idempotent and resumable: a request already sent is skipped, and one
    sent by a concurrent run between the read and the send is replayed by the network (same
    request id, same parameters), never sent twice.

    Each request is its own atomic write with its ledger entry (linkage_request_send), not one
    transaction for the batch: a batch of thousands must not hold a transaction open, and
    what was sent stays sent if the job stops halfway. The operator is the staff member who
    opened the batch; the network gates every request as that staff member's, so an
    assignment ended meanwhile refuses the rest (recorded).
    """
    batch = Batch.objects.select_related(
        "opened_by__institution", "opened_by__department", "affair", "item", "provider"
    ).get(pk=batch_id)
    sent = set(LinkageRequest.objects.filter(batch=batch).values_list("request_id", flat=True))
    pending = [n for n in batch.subjects if batch_request_id(batch, n) not in sent]
    now_sending = pending if limit is None else pending[:limit]
    terminal = batch_terminal(batch)
    for number in now_sending:
        linkage_request_send(
            staff=batch.opened_by,
            request_id=batch_request_id(batch, number),
            affair=batch.affair,
            item=batch.item,
            provider=batch.provider,
            addressee_number=number,
            batch=batch,
            terminal=terminal,
            now=now,
        )
    remaining = len(pending) - len(now_sending)
    if remaining == 0:
        Batch.objects.filter(pk=batch.pk, finished_at__isnull=True).update(
            finished_at=now or timezone.now()
        )
    return remaining


# --- reads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchProgress:
    """Where a batch stands: its requests sent so far by outcome, and those not sent yet."""

    total: int
    answered: int  # provided, no data held, or decided by the provider
    held: int  # waiting for the provider's manual answer
    refused: int  # refused by the network, with a reason

    @property
    def sent(self) -> int:
        return self.answered + self.held + self.refused

    @property
    def remaining(self) -> int:
        return self.total - self.sent


_ANSWERED = frozenset(
    {
        LinkageStatus.PROVIDED,
        LinkageStatus.NOT_FOUND,
        LinkageStatus.RELEASED,
        LinkageStatus.DECLINED,
    }
)


def batches_progress(batches: Sequence[Batch]) -> dict[int, BatchProgress]:
    """The progress of each batch (by primary key), counted in one grouped query."""
    counts: dict[int, Counter[str]] = {b.pk: Counter() for b in batches}
    rows = (
        LinkageRequest.objects.filter(batch__in=[b.pk for b in batches])
        .values_list("batch_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for batch_pk, status, n in rows:
        counts[batch_pk][status] += n
    return {
        b.pk: BatchProgress(
            total=b.subject_count,
            answered=sum(n for s, n in counts[b.pk].items() if s in _ANSWERED),
            held=counts[b.pk][LinkageStatus.HELD],
            refused=counts[b.pk][LinkageStatus.REFUSED],
        )
        for b in batches
    }


def batch_progress(batch: Batch) -> BatchProgress:
    """The batch's progress (batches_progress of one)."""
    return batches_progress([batch])[batch.pk]


def _batches() -> QuerySet[Batch]:
    return Batch.objects.select_related(
        "affair", "item", "provider__organization", "opened_by__user"
    ).defer("subjects")


def batches_of_staff(*, staff: StaffMember) -> QuerySet[Batch]:
    """The batch queries of the staff member's department, newest first."""
    return _batches().filter(department_id=staff.department_id).order_by("-opened_at", "-pk")


def batch_of_staff(*, staff: StaffMember, batch_id: int) -> Batch | None:
    """A batch query of the staff member's own department, or None (another department's is
    not found, so its existence does not leak)."""
    return _batches().filter(pk=batch_id, department_id=staff.department_id).first()


def requests_of_batch(*, batch: Batch, status: str | None = None) -> QuerySet[LinkageRequest]:
    """The batch's requests sent so far, newest first, optionally of one status."""
    requests = (
        LinkageRequest.objects.filter(batch=batch)
        .select_related("affair", "item", "provider__organization", "case", "requester")
        .order_by("-requested_at", "-pk")
    )
    return requests.filter(status=status) if status else requests
