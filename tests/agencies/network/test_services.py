"""The network service: every outcome is gated, answered and recorded in one transaction."""

import dataclasses
import datetime as dt
import json
import threading
import uuid

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction

from agencies.models import (
    Capacity,
    Case,
    Consent,
    LinkageRequest,
    LinkageRule,
    LinkageStatus,
    ProvisionCopy,
)
from agencies.network import services as network
from agencies.network.facts import PresentedOperator
from agencies.network.reasons import NotAllowed, OperatorNotFound
from agencies.network.services import held_request_decide
from agencies.services import operator_credential_issue, operator_credential_revoke
from audit.models import LedgerIntake
from tests.support.factories import (
    AffairFactory,
    DepartmentFactory,
    StaffFactory,
    my_number_for,
    send_request,
    transfer_internally,
    withdraw_token,
)

NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)  # a Wednesday, 10:30 in Tokyo


def send(w, **overrides):
    return send_request(w, **{"now": NOW, **overrides})


def ledger_leaves():
    return [
        json.loads(leaf)
        for leaf in LedgerIntake.objects.order_by("id").values_list("leaf", flat=True)
    ]


def test_permitted_request_is_answered_from_the_copy_and_recorded(world):
    outcome = send(world)
    assert outcome.request.status == LinkageStatus.PROVIDED
    assert outcome.request.payload == {"年金種別": "老齢基礎年金", "年額": 780000}
    [leaf] = ledger_leaves()
    assert leaf["type"] == "linkage.request"
    assert leaf["outcome"] == "provided"
    assert leaf["requester"] == "0110020000000001"
    assert leaf["provider"] == "9900150000000001"
    assert leaf["item"] == "TM00000000000002"
    assert leaf["subject"].startswith("SJ")
    assert leaf["staff"] == world.clerk.audit_pseudonym
    assert "年額" not in json.dumps(leaf, ensure_ascii=False)  # the data itself is never logged


def test_subject_by_my_number_through_the_blind_index(world):
    outcome = send(world, addressee_number=None, my_number=my_number_for(1))
    assert outcome.request.status == LinkageStatus.PROVIDED
    assert my_number_for(1) not in json.dumps(ledger_leaves())


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"affair": "unassigned"}, "staff_not_assigned"),
        ({"item": "resident_item"}, "not_in_permitted_table"),
        ({"item": "tax"}, "rule_not_valid_on_date"),
        ({"affair": "unnotified"}, "affair_not_notified"),
        ({"affair": "school", "item": "tax", "provider": "neighbour"}, "consent_missing"),
        ({"affair": "school", "item": "tax", "provider": "mayor"}, "provider_is_requester"),
        ({"addressee_number": "000000000099999"}, "subject_not_found"),
        ({"requester": "board"}, "wrong_institution"),
    ],
)
def test_each_refusal_has_its_reason_and_is_recorded(world, overrides, code):
    world.unassigned = AffairFactory()
    LinkageRule.objects.create(
        requester_capacity=Capacity.MUNICIPALITY_HEAD,
        affair=world.unassigned,
        provider_capacity=Capacity.PENSION_SERVICE,
        item=world.pension_item,
        valid_from=dt.date(2017, 11, 13),
    )
    outcome = send(
        world,
        **{k: getattr(world, v) if k != "addressee_number" else v for k, v in overrides.items()},
    )
    assert outcome.request.status == LinkageStatus.REFUSED
    assert outcome.request.reason == code
    assert outcome.request.payload is None
    message = outcome.message
    assert message["code"] == code
    assert message["ja"] and message["en"]
    [leaf] = ledger_leaves()
    assert leaf["outcome"] == "refused"
    assert leaf["reason"] == code


def test_not_in_table_message_is_the_networks(world):
    outcome = send(world, item=world.resident_item)
    assert outcome.message["ja"] == (
        "指定された特定個人情報名「TM00000000000004」の照会は許可されていません。"
    )


def consented_tax_record_at(world, holder):
    """The person's consent to the city's school-aid tax query, and holder's tax 副本."""
    Consent.objects.create(
        person=world.person,
        affair=world.school,
        institution=world.mayor,
        item=world.tax,
        valid_from=dt.date(2026, 4, 1),
        document_reference="同意書-2026-001",
    )
    ProvisionCopy.objects.create(
        institution=holder,
        item=world.tax,
        token=world.person.tokens.get(institution=holder),
        payload={"課税区分": "非課税"},
    )


def test_consent_lets_the_tax_query_through(world):
    consented_tax_record_at(world, world.neighbour)
    outcome = send(world, affair=world.school, item=world.tax, provider=world.neighbour)
    assert outcome.request.status == LinkageStatus.PROVIDED


def test_the_requesters_own_institution_is_not_asked_over_the_network(world):
    """Permitted by the table's kinds, consented and held, yet refused: an institution's own
    data reaches its other affairs by 庁内連携, not through the network."""
    consented_tax_record_at(world, world.mayor)
    outcome = send(world, affair=world.school, item=world.tax, provider=world.mayor)
    assert outcome.request.status == LinkageStatus.REFUSED
    assert outcome.request.reason == "provider_is_requester"
    assert outcome.request.payload is None
    assert outcome.message["ja"] == (
        "照会先機関「0110020000000001」は照会元機関と同一です。"
        "同一機関内の事務の間では庁内連携を利用してください。"
    )
    [leaf] = ledger_leaves()
    assert (leaf["outcome"], leaf["reason"]) == ("refused", "provider_is_requester")


def test_no_token_at_the_requester(world):
    withdraw_token(world.mayor, world.person)
    outcome = send(world)
    assert outcome.request.reason == "token_not_issued"
    assert outcome.message["ja"] == "符号が未取得です。"


def test_same_request_id_twice_gives_the_first_outcome_and_records_nothing(world):
    request_id = uuid.uuid4()
    first = send(world, request_id=request_id)
    again = send(world, request_id=request_id)
    assert again.replayed
    assert again.request.pk == first.request.pk
    assert LedgerIntake.objects.count() == 1


def test_a_request_id_reused_for_another_request_is_refused_and_recorded(world):
    request_id = uuid.uuid4()
    first = send(world, request_id=request_id)
    reused = send(world, request_id=request_id, item=world.resident_item, provider=world.board)
    assert reused.conflict
    assert reused.request.pk is None  # not stored: the id names the first request
    assert (reused.request.status, reused.request.reason) == ("refused", "request_id_reused")
    assert reused.request.payload is None
    assert reused.message["ja"] == f"照会番号「{request_id}」は別の照会で使用済みです。"
    assert LinkageRequest.objects.get(request_id=request_id).pk == first.request.pk
    original, refusal = ledger_leaves()
    assert refusal["type"] == "linkage.request"
    assert (refusal["outcome"], refusal["reason"]) == ("refused", "request_id_reused")
    assert refusal["related_request_id"] == str(request_id)
    assert refusal["request_id"] != original["request_id"]
    assert (refusal["item"], refusal["provider"]) == (world.resident_item.code, world.board.code)
    assert refusal["subject"] == original["subject"]  # the resident sees the attempt too


def test_manual_answer_copy_is_held_then_released_with_its_own_entry(world):
    outcome = send(world, affair=world.affair, item=world.resident_item, provider=world.board)
    assert outcome.request.status == LinkageStatus.HELD
    assert outcome.request.reason == "manual_answer"
    assert outcome.request.payload is None
    with pytest.raises(NotAllowed):
        held_request_decide(staff=world.pension_clerk, request=outcome.request, release=True)
    decided = held_request_decide(staff=world.board_clerk, request=outcome.request, release=True)
    assert decided.request.status == LinkageStatus.RELEASED
    assert decided.request.payload == {"世帯員数": 3}
    with pytest.raises(NotAllowed):
        held_request_decide(staff=world.board_clerk, request=outcome.request, release=False)
    first, second = ledger_leaves()
    assert second["type"] == "linkage.release"
    assert second["related_request_id"] == first["request_id"]
    assert second["actor"] == world.board_clerk.audit_pseudonym


def test_a_plain_clerk_of_the_provider_may_not_answer_a_held_request(world):
    outcome = send(world, affair=world.affair, item=world.resident_item, provider=world.board)
    board_desk_clerk = StaffFactory(department=world.board_clerk.department)
    with pytest.raises(NotAllowed, match="provider operators and supervisors"):
        held_request_decide(staff=board_desk_clerk, request=outcome.request, release=True)
    outcome.request.refresh_from_db()
    assert outcome.request.status == LinkageStatus.HELD
    assert len(ledger_leaves()) == 1


def test_protected_subject_is_held_as_nondisclosure_and_can_be_declined(world):
    world.person.disclosure_protected = True
    world.person.protection_reason = "DV等支援措置"
    world.person.save()
    outcome = send(world)
    assert outcome.request.status == LinkageStatus.HELD
    assert outcome.request.reason == "nondisclosure"
    assert outcome.request.nondisclosure
    decided = held_request_decide(staff=world.pension_clerk, request=outcome.request, release=False)
    assert decided.request.status == LinkageStatus.DECLINED
    assert decided.request.payload is None
    assert [leaf["nondisclosure"] for leaf in ledger_leaves()] == [True, True]


def test_internal_transfer_is_its_own_event_and_skips_the_gate(world):
    outcome = transfer_internally(world, now=NOW)
    assert outcome.request.status == LinkageStatus.PROVIDED
    [leaf] = ledger_leaves()
    assert leaf["type"] == "internal.transfer"
    assert leaf["from_affair"] == world.affair.code


def test_board_of_education_of_the_same_city_is_network_linkage(world):
    """首長部局 -> 教育委員会 of one organisation goes through the network like any other."""
    outcome = send(world, affair=world.affair, item=world.resident_item, provider=world.board)
    assert outcome.request.kind == "network"
    assert ledger_leaves()[0]["type"] == "linkage.request"


def test_rule_validity_follows_the_date(world):
    """The pension-to-tax row ended in 2019: refused today, passed (no data held) in 2018."""
    assert send(world, item=world.tax).request.reason == "rule_not_valid_on_date"
    with time_machine.travel(dt.datetime(2018, 6, 1, tzinfo=dt.UTC), tick=False):
        outcome = send(world, item=world.tax, now=None)
    assert outcome.request.status == LinkageStatus.NOT_FOUND
    assert outcome.request.requested_at.year == 2018


def test_fail_closed_when_the_ledger_append_fails(world, intake_refuses_inserts):
    request_id = uuid.uuid4()
    with pytest.raises(DatabaseError, match="disk full"), transaction.atomic():
        send(world, request_id=request_id)
    assert not LinkageRequest.objects.filter(request_id=request_id).exists()
    assert LedgerIntake.objects.count() == 0


def test_fail_closed_for_a_refusal_too(world, intake_refuses_inserts):
    """A refusal that cannot be recorded is not returned as a refusal: it is an error."""
    with pytest.raises(DatabaseError, match="disk full"), transaction.atomic():
        send(world, item=world.resident_item)  # not in the permitted table
    assert LinkageRequest.objects.count() == 0


def test_a_request_id_taken_between_read_and_insert_replays_the_first_outcome(world, monkeypatch):
    """Two sends of one new request id at once: the second read saw no request, its INSERT
    hits the unique key, and it replays the committed one instead of failing."""
    request_id = uuid.uuid4()
    first = send(world, request_id=request_id)
    real = network.linkage_facts
    calls = []

    def stale_then_real(**kwargs):
        facts = real(**kwargs)
        calls.append(facts.existing_request_id)
        if len(calls) == 1:  # what the second sender saw before the first committed
            return dataclasses.replace(facts, existing_request_id=None)
        return facts

    monkeypatch.setattr(network, "linkage_facts", stale_then_real)
    again = send(world, request_id=request_id)
    assert again.replayed
    assert again.request.pk == first.request.pk
    assert calls == [first.request.pk, first.request.pk]
    assert LinkageRequest.objects.count() == 1
    assert LedgerIntake.objects.count() == 1


def test_an_operator_presented_by_an_agency_system_is_found_within_its_institution(world):
    """The agency API presents the operator's own credential and the case's 受付番号: the
    service finds both in the requester's institution, in the statement that reads the gate's
    facts; a revoked credential, another institution's, or an inactive user is not found."""
    case = Case.objects.create(
        affair=world.affair,
        department=world.clerk.department,
        reference="R8-0100",
        applicant=world.person,
        opened_by=world.clerk,
        opened_at=NOW - dt.timedelta(days=3),
    )
    credential, secret = operator_credential_issue(staff=world.clerk)
    outcome = send(world, staff=PresentedOperator(world.mayor, secret, "R8-0100"))
    assert outcome.request.status == LinkageStatus.PROVIDED
    assert (outcome.request.staff_id, outcome.request.case_id) == (world.clerk.pk, case.pk)
    leaf = ledger_leaves()[-1]
    assert (leaf["staff"], leaf["case"]) == (world.clerk.audit_pseudonym, "R8-0100")
    entries = LedgerIntake.objects.count()

    with pytest.raises(OperatorNotFound) as other_institution:
        send(world, staff=PresentedOperator(world.board, secret))  # same organization
    assert other_institution.value.field == "operator"
    with pytest.raises(OperatorNotFound) as no_case:
        send(world, staff=PresentedOperator(world.mayor, secret, "R8-9999"))
    assert no_case.value.field == "case"
    with pytest.raises(OperatorNotFound):
        send(world, staff=PresentedOperator(world.mayor, "yo_" + "x" * 43))
    operator_credential_revoke(credential=credential)
    with pytest.raises(OperatorNotFound):
        send(world, staff=PresentedOperator(world.mayor, secret))
    _, fresh = operator_credential_issue(staff=world.clerk)
    world.clerk.user.is_active = False
    world.clerk.user.save()
    with pytest.raises(OperatorNotFound):
        send(world, staff=PresentedOperator(world.mayor, fresh))
    assert LinkageRequest.objects.count() == 1
    # Nothing recorded for the calls that named no operator or case; revoking and issuing are.
    assert [leaf["type"] for leaf in ledger_leaves()[entries:]] == [
        "credential.revoked",
        "credential.issued",
    ]


def _case(world, *, department=None, affair=None, reference="R8-0200", **fields):
    return Case.objects.create(
        affair=affair or world.affair,
        department=department or world.clerk.department,
        reference=reference,
        applicant=world.person,
        opened_by=world.clerk,
        opened_at=NOW - dt.timedelta(days=10),
        **fields,
    )


@pytest.mark.parametrize(
    ("make_case", "reason"),
    [
        (
            lambda w: _case(w, department=DepartmentFactory(institution=w.mayor)),
            "case_other_department",
        ),
        (lambda w: _case(w, affair=w.school), "case_affair_mismatch"),
        (lambda w: _case(w, closed_at=NOW - dt.timedelta(days=1)), "case_closed"),
        (lambda w: _case(w), ""),
    ],
    ids=["another department", "another affair", "closed", "open and own"],
)
def test_a_case_explains_a_query_only_while_open_in_its_department_and_affair(
    world, make_case, reason
):
    """A query names a case as its reason: another department's case, a case of another
    affair, or a closed one is refused with its own reason and recorded against the subject
    (the resident sees the attempt)."""
    case = make_case(world)
    outcome = send(world, case=case)
    assert outcome.request.reason == reason
    [leaf] = [leaf for leaf in ledger_leaves() if leaf["type"] == "linkage.request"]
    assert leaf.get("reason", "") == reason and leaf["case"] == case.reference
    assert leaf["subject"]
    if reason:
        assert outcome.request.status == LinkageStatus.REFUSED
        message = outcome.message
        assert case.reference in message["ja"] and case.reference in message["en"]


def test_a_case_the_agency_system_names_is_its_operators_departments_first(world):
    """Two departments of one institution may use one 受付番号: the operator's own case is the
    one found (the other department's would be refused)."""
    _case(world, department=DepartmentFactory(institution=world.mayor), reference="R8-0300")
    mine = _case(world, reference="R8-0300")
    _, secret = operator_credential_issue(staff=world.clerk)
    outcome = send(world, staff=PresentedOperator(world.mayor, secret, "R8-0300"))
    assert outcome.request.case_id == mine.pk
    assert outcome.request.status == LinkageStatus.PROVIDED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_of_one_new_request_id_store_one_request(world):
    """Eight sends of one new request id at the same moment, each on its own connection in
    autocommit, as gunicorn workers run them: one request and one ledger entry are stored;
    every send returns that request, and all but the first as a replay."""
    request_id = uuid.uuid4()
    start = threading.Barrier(8)
    outcomes, errors = [], []

    def sender():
        try:
            start.wait()
            outcomes.append(send(world, request_id=request_id))
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stored = LinkageRequest.objects.get(request_id=request_id)
    assert {o.request.pk for o in outcomes} == {stored.pk}
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * 7
    assert LedgerIntake.objects.count() == 1


def protected_hold(w):
    w.person.disclosure_protected = True
    w.person.protection_reason = "DV等支援措置"
    w.person.save()
    outcome = send(w, item=w.resident_item, provider=w.board)
    assert outcome.request.status == LinkageStatus.HELD and outcome.request.nondisclosure
    return outcome.request


def test_releasing_a_protected_record_needs_a_listed_reason_which_its_entry_records(world):
    request = protected_hold(world)
    for reason in ("", "because_i_said_so"):
        with pytest.raises(NotAllowed):
            held_request_decide(
                staff=world.board_clerk, request=request, release=True, decision_reason=reason
            )
    request.refresh_from_db()
    assert request.status == LinkageStatus.HELD
    assert [leaf["type"] for leaf in ledger_leaves()] == ["linkage.request"]
    held_request_decide(
        staff=world.board_clerk,
        request=request,
        release=True,
        decision_reason="subject_own_application",
    )
    release = ledger_leaves()[-1]
    assert (release["type"], release["decision_reason"]) == (
        "linkage.release",
        "subject_own_application",
    )
    from audit.entries import parse_leaf

    leaf = LedgerIntake.objects.order_by("id").last().leaf
    assert parse_leaf(leaf).fields["decision_reason"] == "subject_own_application"


def test_declining_needs_no_reason_and_takes_none(world):
    request = protected_hold(world)
    with pytest.raises(NotAllowed):
        held_request_decide(
            staff=world.board_clerk,
            request=request,
            release=False,
            decision_reason="subject_own_application",
        )
    held_request_decide(staff=world.board_clerk, request=request, release=False)
    decline = ledger_leaves()[-1]
    assert decline["type"] == "linkage.decline" and "decision_reason" not in decline
