"""The network service (情報提供ネットワークシステム): gate, route and answer a 情報照会.

One function per write, one transaction each, and the ledger entry is appended inside that
transaction: if the append fails, the transaction fails and the requester gets an error and no
data (fail closed). Refusals are outcomes like any other: recorded, then returned. A 情報照会
writes its request and its entry in one statement where the database allows (see
linkage_request_send).

Order of the checks, as the real network applies them: the staff member's own authority (its
institution, the affair assigned to it), then the law (the affair may use the network, the
permitted table on that day, the person's consent where the item needs it), then the 符号
(the requester must hold one for the subject). The provider's intermediate server then answers
from its 副本, or holds the request for a person to answer.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from agencies.models import (
    Affair,
    Case,
    Consent,
    InformationItem,
    Institution,
    LinkageRequest,
    LinkageRule,
    LinkageStatus,
    Person,
    ProvisionCopy,
    StaffMember,
    StaffRole,
)
from agencies.selectors import (
    GateFacts,
    OperatorName,
    linkage_facts,
    person_by_addressee_number,
)
from audit.entries import subject_pseudonym
from audit.ledger import insert_with_entry, ledger_append

# --- refusal reasons, with the network's messages --------------------------------------------


@dataclass(frozen=True)
class Reason:
    """A refusal (or hold) reason: its code and its message in Japanese and English."""

    code: str
    ja: str
    en: str

    def render(self, **values: str) -> dict[str, str]:
        """The code and both messages with the request's codes filled in."""
        return {"code": self.code, "ja": self.ja.format(**values), "en": self.en.format(**values)}


REASONS = {
    r.code: r
    for r in [
        Reason(
            "staff_not_assigned",
            "職員は事務手続「{affair}」の担当として登録されていません。",
            "The staff member is not assigned to affair {affair}.",
        ),
        Reason(
            "wrong_institution",
            "照会元機関「{requester}」は職員の所属機関ではありません。",
            "Requesting institution {requester} is not the staff member's institution.",
        ),
        Reason(
            "affair_not_notified",
            "事務手続「{affair}」は情報連携の届出がされていません。",
            "Independent-use affair {affair} has not been notified for linkage.",
        ),
        Reason(
            "not_in_permitted_table",
            "指定された特定個人情報名「{item}」の照会は許可されていません。",
            "Querying item {item} is not permitted for this affair and provider.",
        ),
        Reason(
            "rule_not_valid_on_date",
            "指定された特定個人情報名「{item}」の照会は{day}時点で有効ではありません。",
            "The permission to query item {item} is not in force on {day}.",
        ),
        Reason(
            "consent_missing",
            "特定個人情報名「{item}」の照会には本人の同意が必要です。",
            "Querying item {item} for this affair needs the person's consent.",
        ),
        Reason(
            "subject_not_found",
            "指定された宛名番号に該当する者がいません。",
            "No person matches the given addressee number.",
        ),
        Reason(
            "token_not_issued",
            "符号が未取得です。",
            "No 符号 (institution token) has been issued for this person.",
        ),
        Reason(
            "request_id_reused",
            "照会番号「{request_id}」は別の照会で使用済みです。",
            "Request id {request_id} was already used for another request.",
        ),
        Reason(
            "provider_is_requester",
            "照会先機関「{provider}」は照会元機関と同一です。"
            "同一機関内の事務の間では庁内連携を利用してください。",
            "The provider {provider} is the requesting institution itself; between affairs of "
            "one institution, use internal transfer (庁内連携).",
        ),
        Reason(
            "held",
            "情報提供者で確認中です。回答をお待ちください。",
            "The provider is reviewing the request; wait for the answer.",
        ),
        Reason(
            "manual_answer",
            "情報提供者で手動応答の対象です。回答をお待ちください。",
            "The provider answers this item by hand; the request is held.",
        ),
        Reason(
            "nondisclosure",
            "不開示の対象のため、情報提供者で確認中です。",
            "The record is protected from disclosure; the provider is reviewing the request.",
        ),
        Reason(
            "declined_by_provider",
            "情報提供者により提供されませんでした。",
            "The provider declined to answer.",
        ),
    ]
}


class NotAllowed(Exception):
    """The acting staff member may not do this (e.g. release another provider's request)."""


class OperatorNotFound(Exception):
    """An OperatorName names no active staff member, or no case, of its institution. This is
    the caller's input error, not a refusal: nothing is recorded. `field` names the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


STAFF_NOT_FOUND = "no such staff member in this institution"


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
        )


# --- the permitted table, cached per process ----------------------------------------------------

_RULES_TTL = 60.0
_rules_cache: dict[str, Any] = {"loaded": 0.0, "by_key": {}, "consent": frozenset()}


def _load_rules() -> None:
    now = time.monotonic()
    if now - _rules_cache["loaded"] > _RULES_TTL:
        by_key: dict[tuple[int, int], list[LinkageRule]] = defaultdict(list)
        for rule in LinkageRule.objects.all():
            by_key[(rule.affair_id, rule.item_id)].append(rule)
        _rules_cache["by_key"] = dict(by_key)
        _rules_cache["consent"] = frozenset(
            InformationItem.consent_affairs.through.objects.values_list(
                "informationitem_id", "affair_id"
            )
        )
        _rules_cache["loaded"] = now


def consent_required(*, item: InformationItem, affair: Affair) -> bool:
    """True when querying item for affair needs the person's consent (cached with the table)."""
    _load_rules()
    return (item.pk, affair.pk) in _rules_cache["consent"]


def _rules_by_affair_item() -> dict[tuple[int, int], list[LinkageRule]]:
    """The permitted table indexed by (affair, item), reloaded at most every minute.

    It is read on every request; the table changes by ordinance, and every change in this
    process clears the cache at once (signals below), so a minute bounds staleness only for
    changes made by another process.
    """
    _load_rules()
    return _rules_cache["by_key"]


def clear_rules_cache(**_: object) -> None:
    """Forget the cached permitted table (connected to LinkageRule saves and deletes)."""
    _rules_cache["loaded"] = 0.0


post_save.connect(clear_rules_cache, sender=LinkageRule, dispatch_uid="rules-cache-save")
post_delete.connect(clear_rules_cache, sender=LinkageRule, dispatch_uid="rules-cache-delete")
m2m_changed.connect(
    clear_rules_cache, sender=InformationItem.consent_affairs.through, dispatch_uid="consent-cache"
)


def _side_matches(
    rule_institution_id: int | None, rule_kind: str, institution: Institution
) -> bool:
    if rule_institution_id is not None:
        return rule_institution_id == institution.pk
    return rule_kind == institution.kind


def permitted_rules(
    *, requester: Institution, affair: Affair, provider: Institution, item: InformationItem
) -> list[LinkageRule]:
    """Rows of the permitted table for this combination, valid on any date."""
    return [
        rule
        for rule in _rules_by_affair_item().get((affair.pk, item.pk), [])
        if _side_matches(rule.requester_institution_id, rule.requester_kind, requester)
        and _side_matches(rule.provider_institution_id, rule.provider_kind, provider)
    ]


@dataclass(frozen=True)
class Route:
    """One query the permitted table allows: (affair, item, provider) for a requester."""

    affair: Affair
    item: InformationItem
    provider: Institution

    @property
    def key(self) -> str:
        """A stable form value naming the route by primary keys."""
        return f"{self.affair.pk}:{self.item.pk}:{self.provider.pk}"


def permitted_routes(*, requester: Institution, affairs: list[Affair], day: dt.date) -> list[Route]:
    """Every (affair, item, provider) that the network would let requester query on day.

    Only affairs that may use the network on day, rules in force on day whose requester side
    matches, and providers other than the requester itself (that would be 庁内連携). The gate
    in linkage_request_send stays the authority; this only keeps a form from offering a
    query the network would refuse by law.
    """
    by_pk = {a.pk: a for a in affairs if a.linkage_allowed_on(day)}
    matching = [
        rule
        for (affair_pk, _), rules in _rules_by_affair_item().items()
        if affair_pk in by_pk
        for rule in rules
        if rule.valid_on(day)
        and _side_matches(rule.requester_institution_id, rule.requester_kind, requester)
    ]
    if not matching:
        return []
    items = InformationItem.objects.in_bulk({rule.item_id for rule in matching})
    institutions = list(Institution.objects.select_related("organization").exclude(pk=requester.pk))
    routes = {
        Route(by_pk[rule.affair_id], items[rule.item_id], provider)
        for rule in matching
        for provider in institutions
        if _side_matches(rule.provider_institution_id, rule.provider_kind, provider)
    }
    return sorted(routes, key=lambda r: (r.affair.code, r.item.code, r.provider.code))


# --- the request ---------------------------------------------------------------------------------


def _gate(
    *,
    staff: StaffMember,
    requester: Institution,
    affair: Affair,
    provider: Institution,
    item: InformationItem,
    facts: GateFacts,
    day: dt.date,
) -> str:
    """The first refusal reason that applies, or "" when the network lets the request pass."""
    if staff.institution_id != requester.pk:
        return "wrong_institution"
    if not facts.staff_assigned:
        return "staff_not_assigned"
    if provider.pk == requester.pk:
        # The network links different institutions (機関); an institution's own data reaches
        # its other affairs by 庁内連携, which is recorded as its own event type.
        return "provider_is_requester"
    if not affair.linkage_allowed_on(day):
        return "affair_not_notified"
    rules = permitted_rules(requester=requester, affair=affair, provider=provider, item=item)
    if not rules:
        return "not_in_permitted_table"
    if not any(rule.valid_on(day) for rule in rules):
        return "rule_not_valid_on_date"
    subject = facts.subject
    if subject is None or not facts.subject_known:
        # A My Number of a person outside the requester's own records is "not found", like a
        # number nobody holds: the network must not tell a requester whether a My Number
        # exists elsewhere. The attempt is still recorded against the person it names.
        return "subject_not_found"
    if consent_required(item=item, affair=affair):
        consents = Consent.objects.filter(
            person=subject, affair=affair, institution=requester, item=item
        )
        if not any(c.valid_on(day) for c in consents):
            return "consent_missing"
    if not facts.token_held:
        return "token_not_issued"
    return ""


def _answer(
    *, copy: ProvisionCopy | None, subject: Person, day: dt.date
) -> tuple[str, str, bool, Any]:
    """The provider's intermediate server: (status, reason, nondisclosure, payload)."""
    protected = subject.is_protected_on(day)
    if copy is None:
        return LinkageStatus.NOT_FOUND, "", protected, None
    if protected or copy.nondisclosure:
        return LinkageStatus.HELD, "nondisclosure", True, None
    if copy.manual_answer:
        return LinkageStatus.HELD, "manual_answer", False, None
    return LinkageStatus.PROVIDED, "", False, copy.payload


def _ledger_fields(request: LinkageRequest) -> dict[str, object]:
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
    return fields


def _entry(request: LinkageRequest, event_type: str, **extra: object) -> dict[str, Any]:
    """The ledger entry of a request (ledger_append's arguments)."""
    subject = subject_pseudonym(str(request.subject.public_id)) if request.subject else ""
    return {
        "event_type": event_type,
        "fields": {**_ledger_fields(request), **extra},
        "subject": subject,
        "moment": request.answered_at or request.requested_at,
    }


def _record(request: LinkageRequest, event_type: str, **extra: object) -> None:
    ledger_append(**_entry(request, event_type, **extra))


def _same_request(existing: LinkageRequest, **params: Any) -> bool:
    return all(
        getattr(existing, f"{name}_id") == value.pk
        for name, value in params.items()
        if value is not None
    )


def linkage_request_send(
    *,
    staff: StaffMember | OperatorName,
    request_id: uuid.UUID,
    affair: Affair,
    item: InformationItem,
    provider: Institution,
    requester: Institution | None = None,
    case: Case | None = None,
    addressee_number: str | None = None,
    my_number: str | None = None,
    terminal: str = "",
    now: dt.datetime | None = None,
) -> LinkageOutcome:
    """Send one 情報照会 through the network and return its outcome.

    The operator is a StaffMember (and case a Case of its department), or an OperatorName
    as an agency system gives it: then the staff member and the case are looked up by name
    within that institution in the same statement as everything else (OperatorNotFound if
    either is not there), and the institution is the requester.

    The subject is named by the requester's 宛名番号, or by My Number through the blind
    index. Every outcome (provided, no data, held, refused with a reason) is recorded in the
    same transaction as one ledger entry. The same request id sent again with the same
    parameters returns the first outcome and records nothing; with other parameters it is
    refused (request_id_reused, outcome.conflict), recorded, and not stored. Two sends of one
    new request id at the same moment give one request: the second waits for the first, then
    replays it.

    A send is two statements: one reads everything the gate decides on, then one atomic
    write stores the request with its ledger entry (one statement on PostgreSQL, see
    insert_with_entry). No transaction spans the two: under READ COMMITTED each statement
    reads its own snapshot and the read takes no lock, so a transaction around both would
    promise nothing more, and BEGIN and COMMIT would double the round trips. The one race
    that matters, another send of the same request id, is settled by the unique key at the
    write.
    """
    # An OperatorName carries its own case reference.
    assert case is None or not isinstance(staff, OperatorName)
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
    staff: StaffMember | OperatorName,
    request_id: uuid.UUID,
    affair: Affair,
    item: InformationItem,
    provider: Institution,
    requester: Institution,
    case: Case | None,
    addressee_number: str | None,
    my_number: str | None,
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
    )
    if isinstance(staff, OperatorName):
        if facts.staff is None:
            raise OperatorNotFound("staff", STAFF_NOT_FOUND)
        if staff.case_reference and facts.case is None:
            raise OperatorNotFound("case", "no such case in this institution")
        staff, case = facts.staff, facts.case
    moment = now or timezone.now()
    day = timezone.localdate(moment)
    subject = facts.subject
    request = LinkageRequest(
        request_id=request_id,
        kind="network",
        requester=requester,
        provider=provider,
        staff=staff,
        affair=affair,
        item=item,
        case=case,
        subject=subject,
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
        ):
            return LinkageOutcome(existing, replayed=True)
        reason = "request_id_reused"
    else:
        reason = _gate(
            staff=staff,
            requester=requester,
            affair=affair,
            provider=provider,
            item=item,
            facts=facts,
            day=day,
        )
    if reason:
        request.status, request.reason = LinkageStatus.REFUSED, reason
        request.nondisclosure = bool(subject and subject.is_protected_on(day))
        request.answered_at = moment
    else:
        assert subject is not None  # the gate refuses an unknown subject
        status, reason, nondisclosure, payload = _answer(copy=facts.copy, subject=subject, day=day)
        request.status, request.reason = status, reason
        request.nondisclosure, request.payload = nondisclosure, payload
        if status != LinkageStatus.HELD:
            request.answered_at = moment
    if request.reason == "request_id_reused":
        # Reusing an id could hide a second query behind the first one's outcome, so the
        # attempt is recorded like any refusal, under a fresh entry id pointing at the id it
        # tried to reuse; it is not stored, since that id names the first request.
        _record(
            request,
            "linkage.request",
            request_id=str(uuid.uuid4()),
            related_request_id=str(request_id),
        )
        return LinkageOutcome(request)
    # No signal listens to LinkageRequest, so the row may be written without save().
    if insert_with_entry(request, unless_taken="request_id", **_entry(request, "linkage.request")):
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
    now: dt.datetime | None = None,
) -> LinkageOutcome:
    """庁内連携: use data of another affair of the staff member's own institution
    (from_affair; None for a register that is no affair, such as the 住民基本台帳).

    It does not pass the network gate (no permitted table, no 符号) but is recorded as its own
    event type, so that residents see it on its own tab. The staff member must still be
    assigned to the affair the data is used for.
    """
    moment = now or timezone.now()
    institution = staff.institution
    subject = (
        person_by_addressee_number(
            organization_id=institution.organization_id, number=addressee_number
        )
        if addressee_number
        else None
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
        requested_at=moment,
        answered_at=moment,
    )
    if not staff.assigned_affairs.filter(pk=affair.pk).exists():
        request.status, request.reason = LinkageStatus.REFUSED, "staff_not_assigned"
    elif subject is None:
        request.status, request.reason = LinkageStatus.REFUSED, "subject_not_found"
    else:
        request.status = LinkageStatus.PROVIDED
    request.save()
    _record(request, "internal.transfer")
    return LinkageOutcome(request)


DECIDING_ROLES = frozenset({StaffRole.PROVIDER_OPERATOR, StaffRole.SUPERVISOR})


@transaction.atomic
def held_request_decide(
    *,
    staff: StaffMember,
    request: LinkageRequest,
    release: bool,
    now: dt.datetime | None = None,
) -> LinkageOutcome:
    """The provider's staff release (answer from the 副本) or decline a held request.

    Only provider operators (提供担当) and supervisors (所属長) of the providing institution may
    decide, and only once; a clerk who merely works there may not hand out a protected record.
    The decision is its own ledger entry, linked to the request by related_request_id.
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
    _record(
        request,
        "linkage.release" if release else "linkage.decline",
        related_request_id=str(request.request_id),
        actor=staff.audit_pseudonym,
        request_id=str(uuid.uuid4()),
    )
    return LinkageOutcome(request)
