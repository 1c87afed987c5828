"""The network's decision on one 情報照会 (the gate), and the provider's intermediate server
(中間サーバー) answering it from its 副本.

Order of the checks, as the real network applies them: the staff member's own authority (its
institution, the affair assigned to it), then the law (the affair may use the network, the
permitted table on that day, the person's consent where the item needs it), then the 符号
(the requester must hold one for the subject). Pure decisions over facts read beforehand
(agencies.network.facts): no query here but the consent check, which only the items that need
consent reach.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from django.utils import timezone

from agencies.models import (
    Affair,
    Batch,
    Case,
    Consent,
    InformationItem,
    Institution,
    LinkageStatus,
    OrdinanceRule,
    Person,
    ProvisionCopy,
    StaffMember,
)
from agencies.network.batches import batch_refusal_reason
from agencies.network.facts import GateFacts
from agencies.network.rules import consent_required, permitted_rules


def refusal_reason(
    *,
    staff: StaffMember,
    case: Case | None,
    moment: dt.datetime,
    requester: Institution,
    affair: Affair,
    provider: Institution,
    item: InformationItem,
    facts: GateFacts,
    day: dt.date,
    batch: Batch | None = None,
) -> str:
    """The first refusal reason that applies, or "" when the network lets the request pass."""
    if staff.institution_id != requester.pk:
        return "wrong_institution"
    if not facts.staff_assigned:
        return "staff_not_assigned"
    if case is not None:
        reason = _case_reason(staff=staff, case=case, affair=affair, moment=moment)
        if reason:
            return reason
    if batch is not None:
        # A batch query explains its requests as a case does (agencies.network.batches).
        reason = batch_refusal_reason(
            batch=batch, staff=staff, affair=affair, item=item, provider=provider
        )
        if reason:
            return reason
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


def _case_reason(*, staff: StaffMember, case: Case, affair: Affair, moment: dt.datetime) -> str:
    # A case is the reason behind a query only for its own department, its own affair, and
    # while it is open: another department's or a closed case explains nothing.
    if case.department_id != staff.department_id:
        return "case_other_department"
    if case.affair_id != affair.pk:
        return "case_affair_mismatch"
    if not case.is_open_at(moment):
        return "case_closed"
    return ""


def internal_refusal_reason(
    *,
    staff: StaffMember,
    affair: Affair,
    from_affair: Affair | None,
    item: InformationItem,
    case: Case | None,
    moment: dt.datetime,
) -> str:
    """The first reason a 庁内連携 is refused, or "": the staff member's assignment, the case,
    then the organisation's ordinance (条例で定める庁内利用) on the day."""
    if not staff.assigned_affairs.filter(pk=affair.pk).exists():
        return "staff_not_assigned"
    if case is not None:
        reason = _case_reason(staff=staff, case=case, affair=affair, moment=moment)
        if reason:
            return reason
    day = timezone.localdate(moment)
    rules = OrdinanceRule.objects.filter(
        organization_id=staff.institution.organization_id,
        affair=affair,
        item=item,
        from_affair=from_affair,
    )
    if not any(rule.valid_on(day) for rule in rules):
        return "not_in_ordinance"
    return ""


class Answer(NamedTuple):
    """What the provider's intermediate server answers a request that passed the gate."""

    status: str
    reason: str
    nondisclosure: bool
    payload: Any


def provider_answer(*, copy: ProvisionCopy | None, subject: Person, day: dt.date) -> Answer:
    """Answer from the provider's 副本: none -> not found; a protected person or a 不開示 copy
    -> held (nondisclosure); a copy answered by hand -> held (manual_answer); else provided."""
    protected = subject.is_protected_on(day)
    if copy is None:
        return Answer(LinkageStatus.NOT_FOUND, "", protected, None)
    if protected or copy.nondisclosure:
        return Answer(LinkageStatus.HELD, "nondisclosure", True, None)
    if copy.manual_answer:
        return Answer(LinkageStatus.HELD, "manual_answer", False, None)
    return Answer(LinkageStatus.PROVIDED, "", False, copy.payload)
