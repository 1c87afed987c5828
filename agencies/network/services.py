"""The network service (情報提供ネットワークシステム): gate, route and answer a 情報照会, record a
庁内連携, and let the provider decide a held request.

One function per write, and the ledger entry is written with the change: if the entry cannot
be written, nothing is, and the requester gets an error and no data (fail closed). Refusals
are outcomes like any other: recorded, then returned. A 情報照会 writes its request and its
entry in one statement where the database allows (store_with_entry).
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from agencies.models import (
    Affair,
    Batch,
    Case,
    InformationItem,
    Institution,
    LinkageRequest,
    LinkageStatus,
    Person,
    ProvisionCopy,
    StaffMember,
    StaffRole,
)
from agencies.network.events import (
    INTERNAL_TRANSFER,
    LINKAGE_DECLINE,
    LINKAGE_RELEASE,
    LINKAGE_REQUEST,
    record_request,
    request_entry,
)
from agencies.network.facts import PresentedOperator, linkage_facts
from agencies.network.gate import internal_refusal_reason, provider_answer, refusal_reason
from agencies.network.outcomes import LinkageOutcome
from agencies.network.reasons import (
    OPERATOR_NOT_ACCEPTED,
    RELEASE_REASONS,
    NotAllowed,
    OperatorNotFound,
)
from agencies.selectors import own_copy, person_by_addressee_number, person_in_own_records
from audit.ledger import PreparedEntry, entry_insert_from, entry_write
from core.db import fetch_one, insert_returning_pk, insert_sql, insert_values, mark_inserted


def store_with_entry(request: LinkageRequest, entry: PreparedEntry) -> bool:
    """INSERT a new request row and its ledger entry: both are stored or neither is, and
    request gets its primary key. False, writing nothing and raising nothing, when a request
    with its request id is already stored (what that means is the caller's to decide); a
    database error propagates and leaves nothing written.

    On PostgreSQL the two rows go in one statement, atomic on its own: outside a transaction
    it is one round trip where BEGIN, two INSERTs and COMMIT were four. Elsewhere the two
    INSERTs run in the caller's transaction, or in one of their own. No signal listens to
    LinkageRequest (a test makes sure), so the row may be written without save().
    """
    if connection.vendor != "postgresql":
        with transaction.atomic(savepoint=False):
            if not insert_returning_pk(request, unless_taken="request_id"):
                return False
            entry_write(entry)
            return True
    sql, fields = _store_with_entry_sql()
    row = fetch_one(sql, [*insert_values(request, fields), *entry.values])
    if row is None:
        return False
    mark_inserted(request, row[1])
    return True


@cache
def _store_with_entry_sql() -> tuple[str, tuple[Field[Any, Any], ...]]:
    # A data-modifying WITH runs exactly once; the entry is selected FROM its result, so a
    # request that was not inserted (taken request id) gets no entry, and a failure of either
    # INSERT fails the statement.
    row_sql, fields = insert_sql(LinkageRequest, "postgresql", "request_id")
    sql = (
        f"WITH written AS ({row_sql}) {entry_insert_from('written')} "  # noqa: S608 - names only
        "RETURNING id, (SELECT id FROM written)"
    )
    return sql, fields


def _same_request(existing: LinkageRequest, **params: Any) -> bool:
    return all(
        getattr(existing, f"{name}_id") == value.pk
        for name, value in params.items()
        if value is not None
    )


def linkage_request_send(
    *,
    staff: StaffMember | PresentedOperator,
    request_id: uuid.UUID,
    affair: Affair,
    item: InformationItem,
    provider: Institution,
    requester: Institution | None = None,
    case: Case | None = None,
    addressee_number: str | None = None,
    my_number: str | None = None,
    subject: Person | None = None,
    batch: Batch | None = None,
    terminal: str = "",
    now: dt.datetime | None = None,
) -> LinkageOutcome:
    """Send one 情報照会 through the network and return its outcome.

    The operator is a StaffMember (and case a Case), or a PresentedOperator as an agency
    system gives it: then the staff member is found by their own operator credential and the
    case by its 受付番号, within that institution, in the same statement as everything else
    (OperatorNotFound if either is not there: a 400 or 403 for the caller, nothing recorded),
    and the institution is the requester. A case must be open, of the operator's department
    and of the request's affair, or the request is refused and recorded.

    The subject is named by the requester's 宛名番号, by My Number through the blind index,
    or given as a person the requester resolved in its own records beforehand (subject: the
    gate still checks that it is in them). A batch (一括照会) explains the request as a case
    does: it must be the operator's department's, of the request's affair and route, or the
    request is refused and recorded; the request and its entry name it.

    Every outcome (provided, no data, held, refused with a reason) is recorded in the
    same transaction as one ledger entry. The same request id sent again with the same
    parameters returns the first outcome and records nothing; with other parameters it is
    refused (request_id_reused, outcome.conflict), recorded, and not stored. Two sends of one
    new request id at the same moment give one request: the second waits for the first, then
    replays it.

    A send is two statements: one reads everything the gate decides on, then one atomic
    write stores the request with its ledger entry (one statement on PostgreSQL, see
    store_with_entry). No transaction spans the two: under READ COMMITTED each statement
    reads its own snapshot and the read takes no lock, so a transaction around both would
    promise nothing more, and BEGIN and COMMIT would double the round trips. The one race
    that matters, another send of the same request id, is settled by the unique key at the
    write.
    """
    # An PresentedOperator carries its own case reference.
    assert case is None or not isinstance(staff, PresentedOperator)
    params: dict[str, Any] = {
        "staff": staff,
        "request_id": request_id,
        "affair": affair,
        "item": item,
        "provider": provider,
        "requester": requester or staff.institution,
        "case": case,
        "addressee_number": addressee_number,
        "my_number": my_number,
        "subject": subject,
        "batch": batch,
        "terminal": terminal,
        "now": now,
    }
    outcome = _send(**params)
    if outcome is None:
        # Another send of this request id was stored between our read and our write; read
        # again, and its outcome is there to replay (or to refuse as a reused id).
        outcome = _send(**params)
        assert outcome is not None  # the request id is taken now, so this send did not write
    return outcome


def _send(
    *,
    staff: StaffMember | PresentedOperator,
    request_id: uuid.UUID,
    affair: Affair,
    item: InformationItem,
    provider: Institution,
    requester: Institution,
    case: Case | None,
    addressee_number: str | None,
    my_number: str | None,
    subject: Person | None,
    batch: Batch | None,
    terminal: str,
    now: dt.datetime | None,
) -> LinkageOutcome | None:
    """One attempt: the outcome, or None when the request id was taken after it was read."""
    facts = linkage_facts(
        request_id=request_id,
        operator=staff,
        requester=requester,
        case=case,
        provider_id=provider.pk,
        affair_id=affair.pk,
        item_id=item.pk,
        addressee_number=addressee_number,
        my_number=my_number,
        subject=subject,
    )
    if isinstance(staff, PresentedOperator):
        if facts.staff is None:
            raise OperatorNotFound("operator", OPERATOR_NOT_ACCEPTED)
        if staff.case_reference and facts.case is None:
            raise OperatorNotFound("case", "no such case in this institution")
        staff, case = facts.staff, facts.case
    moment = now or timezone.now()
    day = timezone.localdate(moment)
    found = facts.subject
    request = LinkageRequest(
        request_id=request_id,
        kind="network",
        requester=requester,
        provider=provider,
        staff=staff,
        affair=affair,
        item=item,
        case=case,
        batch=batch,
        subject=found,
        terminal=terminal,
        requested_at=moment,
    )
    if facts.existing_request_id is not None:
        existing = LinkageRequest.objects.select_related(
            "affair", "item", "requester", "provider"
        ).get(pk=facts.existing_request_id)
        if _same_request(
            existing,
            staff=staff,
            affair=affair,
            item=item,
            provider=provider,
            requester=requester,
            case=case,
            batch=batch,
        ):
            return LinkageOutcome(existing, replayed=True)
        reason = "request_id_reused"
    else:
        reason = refusal_reason(
            staff=staff,
            case=case,
            moment=moment,
            requester=requester,
            affair=affair,
            provider=provider,
            item=item,
            facts=facts,
            day=day,
            batch=batch,
        )
    if reason:
        request.status, request.reason = LinkageStatus.REFUSED, reason
        request.nondisclosure = bool(found and found.is_protected_on(day))
        request.answered_at = moment
    else:
        assert found is not None  # the gate refuses an unknown subject
        answer = provider_answer(copy=facts.copy, subject=found, day=day)
        request.status, request.reason = answer.status, answer.reason
        request.nondisclosure, request.payload = answer.nondisclosure, answer.payload
        if answer.status != LinkageStatus.HELD:
            request.answered_at = moment
    if request.reason == "request_id_reused":
        # Reusing an id could hide a second query behind the first one's outcome, so the
        # attempt is recorded like any refusal, under a fresh entry id pointing at the id it
        # tried to reuse; it is not stored, since that id names the first request.
        record_request(
            request,
            LINKAGE_REQUEST,
            request_id=str(uuid.uuid4()),
            related_request_id=str(request_id),
        )
        return LinkageOutcome(request)
    if store_with_entry(request, request_entry(request, LINKAGE_REQUEST)):
        return LinkageOutcome(request)
    return None


@transaction.atomic
def internal_transfer_send(
    *,
    staff: StaffMember,
    request_id: uuid.UUID,
    affair: Affair,
    from_affair: Affair | None,
    item: InformationItem,
    case: Case | None = None,
    addressee_number: str | None = None,
    subject: Person | None = None,
    terminal: str = "",
    now: dt.datetime | None = None,
) -> LinkageOutcome:
    """庁内連携: use, for affair, data of another affair of the staff member's own institution
    (from_affair; None for a register that is no affair, such as the 住民基本台帳).

    The person is named by the organisation's 宛名番号, or given as a person already resolved
    in its own records (subject; one outside them is "not found"). The same request id sent
    again with the same parameters returns the first outcome and records nothing; with other
    parameters it is refused (request_id_reused, outcome.conflict) and recorded, as on the
    network.

    It does not pass the network (no permitted table, no 符号): what allows it is the
    organisation's ordinance (条例で定める庁内利用, OrdinanceRule) in force on the day, for this
    using affair, item and providing affair; outside it the transfer is refused
    (not_in_ordinance). The staff member must be assigned to the using affair, and the case,
    if one is named, must be open in their department for that affair. Inside the ordinance
    the data comes from the institution's own records (its 副本 of the item), like a network
    answer: provided, or not found. Every outcome is recorded as its own event type
    (internal.transfer), which residents see on its own tab.
    """
    moment = now or timezone.now()
    institution = staff.institution
    if subject is not None:
        if not person_in_own_records(institution=institution, person=subject):
            subject = None
    elif addressee_number:
        subject = person_by_addressee_number(
            organization_id=institution.organization_id, number=addressee_number
        )
    request = LinkageRequest(
        request_id=request_id,
        kind="internal",
        requester=institution,
        provider=institution,
        staff=staff,
        affair=affair,
        from_affair=from_affair,
        item=item,
        case=case,
        subject=subject,
        terminal=terminal,
        requested_at=moment,
        answered_at=moment,
    )
    # Lock the id's row, if any: two sends of one id at once give one transfer.
    existing = LinkageRequest.objects.select_for_update().filter(request_id=request_id).first()
    if existing is not None:
        if (
            existing.kind == "internal"
            and existing.staff_id == staff.pk
            and existing.affair_id == affair.pk
            and existing.from_affair_id == (from_affair.pk if from_affair else None)
            and existing.item_id == item.pk
            and existing.case_id == (case.pk if case else None)
            and existing.subject_id == (subject.pk if subject else None)
        ):
            return LinkageOutcome(existing, replayed=True)
        # Recorded like a refusal under a fresh entry id, and not stored (the id names the
        # first request), exactly as the network does.
        request.status, request.reason = LinkageStatus.REFUSED, "request_id_reused"
        record_request(
            request,
            INTERNAL_TRANSFER,
            request_id=str(uuid.uuid4()),
            related_request_id=str(request_id),
        )
        return LinkageOutcome(request)
    reason = internal_refusal_reason(
        staff=staff, affair=affair, from_affair=from_affair, item=item, case=case, moment=moment
    )
    if not reason and subject is None:
        reason = "subject_not_found"
    if reason or subject is None:
        request.status, request.reason = LinkageStatus.REFUSED, reason
    else:
        copy = own_copy(institution=institution, item=item, person=subject)
        if copy is None:
            request.status = LinkageStatus.NOT_FOUND
        else:
            request.status, request.payload = LinkageStatus.PROVIDED, copy.payload
    request.save()
    record_request(request, INTERNAL_TRANSFER)
    return LinkageOutcome(request)


DECIDING_ROLES = frozenset({StaffRole.PROVIDER_OPERATOR, StaffRole.SUPERVISOR})


@transaction.atomic
def held_request_decide(
    *,
    staff: StaffMember,
    request: LinkageRequest,
    release: bool,
    decision_reason: str = "",
    now: dt.datetime | None = None,
) -> LinkageOutcome:
    """The provider's staff release (answer from the 副本) or decline a held request.

    Only provider operators (提供担当) and supervisors (所属長) of the providing institution may
    decide, and only once; a clerk who merely works there may not hand out a protected record.
    Releasing a request held because its subject is 不開示 needs a decision_reason of
    RELEASE_REASONS, which the release's entry records; an unknown one is refused for any
    release. The decision is its own ledger entry, linked to the request by
    related_request_id.
    """
    # Lock the row alone (relations are read after): two provider staff deciding at once must
    # not both answer, and PostgreSQL cannot lock the nullable side of an outer join.
    request = LinkageRequest.objects.select_for_update().get(pk=request.pk)
    if staff.institution_id != request.provider_id:
        raise NotAllowed("他機関の照会には回答できません。 (Only the provider may answer.)")
    if staff.role not in DECIDING_ROLES:
        raise NotAllowed(
            "保留中の照会には提供担当または所属長のみが回答できます。 "
            "(Only provider operators and supervisors may answer held requests.)"
        )
    if request.status != LinkageStatus.HELD:
        raise NotAllowed("この照会は保留中ではありません。 (This request is not held.)")
    if release:
        _check_release_reason(request, decision_reason)
    elif decision_reason:
        raise NotAllowed("提供しない場合に理由は選べません。 (A decline takes no reason.)")
    moment = now or timezone.now()
    request.answered_at, request.answered_by = moment, staff
    if release:
        copy = ProvisionCopy.objects.filter(
            institution=request.provider, item=request.item, token__person=request.subject
        ).first()
        request.status = LinkageStatus.RELEASED
        request.payload = copy.payload if copy is not None else None
    else:
        request.status, request.reason = LinkageStatus.DECLINED, "declined_by_provider"
    request.save(update_fields=["status", "reason", "payload", "answered_at", "answered_by"])
    decision: dict[str, str] = {"decision_reason": decision_reason} if decision_reason else {}
    record_request(
        request,
        LINKAGE_RELEASE if release else LINKAGE_DECLINE,
        related_request_id=str(request.request_id),
        actor=staff.audit_pseudonym,
        request_id=str(uuid.uuid4()),
        **decision,
    )
    return LinkageOutcome(request)


def _check_release_reason(request: LinkageRequest, decision_reason: str) -> None:
    if decision_reason and decision_reason not in RELEASE_REASONS:
        raise NotAllowed("この理由は選択できません。 (Not a reason for a release.)")
    if request.nondisclosure and not decision_reason:
        raise NotAllowed(
            "不開示の照会を提供するには、確認のうえ理由を選択してください。 "
            "(Releasing a protected record needs a confirmation and a reason.)"
        )
