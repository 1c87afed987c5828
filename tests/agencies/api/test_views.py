"""The agency API: each system authenticates with its own key and acts only for its institution."""

import json

import pytest
from rest_framework.test import APIClient

from agencies.api.auth import API_KEY_TTL
from agencies.models import Case, LinkageRequest
from audit.models import LedgerIntake
from tests.support.factories import AffairFactory, my_number_for, send_request
from tests.support.factories import request_body as body


def test_requests_need_a_valid_key(world, api):
    anonymous = APIClient()
    assert anonymous.post("/api/agency/requests", body(), format="json").status_code in (401, 403)
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Bearer yk_not-a-real-key")
    assert forged.post("/api/agency/requests", body(), format="json").status_code == 401
    assert LinkageRequest.objects.count() == 0


def test_a_deactivated_key_stops_working(world, api, monkeypatch):
    from agencies.models import AgencySystem
    from core import cache

    assert api["mayor"].post("/api/agency/requests", body(), format="json").status_code == 201
    system = AgencySystem.objects.get(institution=world.mayor)
    # Deactivated in this process (admin, signal): refused at once.
    system.is_active = False
    system.save()
    assert api["mayor"].post("/api/agency/requests", body(), format="json").status_code == 401
    # Deactivated by another process (no signal here): refused once API_KEY_TTL has passed.
    AgencySystem.objects.filter(pk=system.pk).update(is_active=True)
    assert api["mayor"].post("/api/agency/requests", body(), format="json").status_code == 201
    AgencySystem.objects.filter(pk=system.pk).update(is_active=False)
    later = cache.time.monotonic() + API_KEY_TTL + 1
    monkeypatch.setattr(cache.time, "monotonic", lambda: later)
    assert api["mayor"].post("/api/agency/requests", body(), format="json").status_code == 401
    assert LinkageRequest.objects.count() == 2


def test_send_read_and_replay(world, api):
    data = body()
    response = api["mayor"].post("/api/agency/requests", data, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "provided"
    assert response.json()["payload"] == {"年金種別": "老齢基礎年金", "年額": 780000}
    again = api["mayor"].post("/api/agency/requests", data, format="json")
    assert again.status_code == 200
    conflict = api["mayor"].post(
        "/api/agency/requests", {**data, "item": "TM00000000000004"}, format="json"
    )
    assert conflict.status_code == 409
    assert conflict.json()["message"]["code"] == "request_id_reused"
    assert conflict.json()["payload"] is None
    # The requester reads its answer; the provider sees the request but not the answer.
    mine = api["mayor"].get(f"/api/agency/requests/{data['request_id']}").json()
    assert mine["payload"] is not None
    theirs = api["pension"].get(f"/api/agency/requests/{data['request_id']}").json()
    assert theirs["payload"] is None
    assert api["board"].get(f"/api/agency/requests/{data['request_id']}").status_code == 404


def test_refusal_carries_the_networks_message(world, api):
    response = api["mayor"].post(
        "/api/agency/requests", body(item="TM00000000000004"), format="json"
    )
    assert response.status_code == 201
    assert response.json()["status"] == "refused"
    assert response.json()["message"]["code"] == "not_in_permitted_table"
    assert "TM00000000000004" in response.json()["message"]["ja"]


def test_a_system_cannot_act_with_another_institutions_operator(world, api):
    """The pension service's system presents the city clerk's own credential: refused, since
    the network checks a credential within the calling system's institution only."""
    borrowing = APIClient()
    borrowing.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api['pension'].system_key}",
        HTTP_X_OPERATOR_CREDENTIAL=api["mayor"]._credentials["HTTP_X_OPERATOR_CREDENTIAL"],
    )
    response = borrowing.post("/api/agency/requests", body(), format="json")
    assert response.status_code == 403
    assert LinkageRequest.objects.count() == 0


def test_bad_my_number_is_a_400_that_does_not_echo_it(world, api):
    wrong = my_number_for(1)[:-1] + str((int(my_number_for(1)[-1]) + 1) % 10)
    data = body(addressee_number=None, my_number=wrong)
    response = api["mayor"].post("/api/agency/requests", data, format="json")
    assert response.status_code == 400
    assert wrong not in response.content.decode()


@pytest.mark.parametrize(
    "payload", [{}, {"request_id": "not-a-uuid"}, body(addressee_number="x"), body(provider="123")]
)
def test_malformed_input_is_400(world, api, payload):
    assert api["mayor"].post("/api/agency/requests", payload, format="json").status_code == 400


def test_held_requests_are_listed_and_answered_by_the_provider_only(world, api):
    data = body(item="TM00000000000004", provider="0110020000000002")
    assert api["mayor"].post("/api/agency/requests", data, format="json").json()["status"] == "held"
    held = api["board"].get("/api/agency/held").json()
    assert [h["request_id"] for h in held] == [data["request_id"]]
    assert api["mayor"].get("/api/agency/held").json() == []
    url = f"/api/agency/held/{data['request_id']}/release"
    assert api["pension"].post(url, format="json").status_code == 404
    released = api["board"].post(url, format="json")
    assert released.status_code == 200
    assert released.json()["status"] == "released"
    assert released.json()["payload"] is None  # the provider does not receive the answer back
    assert api["mayor"].get(f"/api/agency/requests/{data['request_id']}").json()["payload"] == {
        "世帯員数": 3
    }
    again = api["board"].post(url, format="json")
    assert again.status_code == 409


def test_cases_open_and_close_within_the_institution(world, api):
    opened = api["mayor"].post(
        "/api/agency/cases",
        {
            "affair": "JT01010000000214",
            "reference": "R8-0001",
            "applicant_addressee_number": "000000000012345",
            "members": [{"addressee_number": "000000000012345", "role": "本人"}],
        },
        format="json",
    )
    assert opened.status_code == 201, opened.content
    case_id = opened.json()["id"]
    assert Case.objects.get(pk=case_id).members.count() == 1
    response = api["mayor"].post("/api/agency/requests", body(case="R8-0001"), format="json")
    assert response.json()["case"] == "R8-0001"
    # The provider reads the request without the requester's own file reference.
    request_url = f"/api/agency/requests/{response.json()['request_id']}"
    assert api["pension"].get(request_url).json()["case"] is None
    close_url = f"/api/agency/cases/{case_id}/close"
    assert api["pension"].post(close_url, format="json").status_code == 404
    assert api["mayor"].post(close_url, format="json").status_code == 200
    assert api["mayor"].post(close_url, format="json").status_code == 409


def test_operator_and_case_are_looked_up_in_the_callers_institution_only(world, api):
    """The operator travels by their own credential and the case by its 受付番号: another
    institution's is not found, even within one organization."""
    Case.objects.create(
        affair=world.school,
        department=world.board_clerk.department,
        reference="R8-0003",
        applicant=world.person,
        opened_by=world.board_clerk,
    )
    borrowed = api["mayor"].post("/api/agency/requests", body(case="R8-0003"), format="json")
    assert borrowed.status_code == 400
    assert set(borrowed.json()) == {"case"}
    borrowing = APIClient()
    borrowing.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api['mayor'].system_key}",
        HTTP_X_OPERATOR_CREDENTIAL=api["board"]._credentials["HTTP_X_OPERATOR_CREDENTIAL"],
    )
    other_operator = borrowing.post("/api/agency/requests", body(case="R8-0003"), format="json")
    assert other_operator.status_code == 403
    world.clerk.user.is_active = False
    world.clerk.user.save()
    assert api["mayor"].post("/api/agency/requests", body(), format="json").status_code == 403
    assert LinkageRequest.objects.count() == 0


def test_the_api_speaks_json_only(world, api):
    form = api["mayor"].post("/api/agency/requests", body(), format="multipart")
    assert form.status_code == 415
    # Whatever the caller accepts, the answer is JSON.
    answer = api["mayor"].post(
        "/api/agency/requests", body(), format="json", HTTP_ACCEPT="text/html"
    )
    assert answer.status_code == 201
    assert answer["Content-Type"] == "application/json"
    assert LinkageRequest.objects.count() == 1


def test_flat_input_serializers_copy_their_fields_per_instance():
    from rest_framework import serializers

    from agencies.api.fast_drf import FlatInputSerializer
    from agencies.api.views import SendRequestView

    Input = SendRequestView.SendRequestInput
    first, second = Input(data={"terminal": "T-1"}), Input(data={"terminal": ""})
    first.is_valid()
    second.is_valid()
    assert "terminal" not in first.errors and "terminal" in second.errors
    assert first.fields["terminal"] is not second.fields["terminal"]
    assert first.fields["terminal"].parent is first and second.fields["terminal"].parent is second
    assert Input._declared_fields["terminal"].parent is None  # the declaration stays unbound
    with pytest.raises(TypeError, match="plain fields"):

        class Nested(FlatInputSerializer):
            members = serializers.ListField(child=serializers.CharField())


def test_case_for_an_unassigned_affair_is_refused(world, api):
    unassigned = AffairFactory(code="JT07070000000007")
    response = api["mayor"].post(
        "/api/agency/cases",
        {
            "affair": unassigned.code,
            "reference": "R8-0002",
            "applicant_addressee_number": "000000000012345",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "not assigned" in response.content.decode()
    assert not Case.objects.filter(reference="R8-0002").exists()


def test_outcome_representation_equals_the_declared_fields(world):
    """OutcomeSerializer writes its fields out by hand for speed; DRF's generic path over the
    declared fields must give the same document, for every kind of outcome and viewer."""
    from rest_framework import serializers

    from agencies.api.serializers import OutcomeSerializer
    from agencies.network.outcomes import nondisclosure_visible_to
    from agencies.network.services import held_request_decide
    from agencies.services import case_open

    case = case_open(
        staff=world.clerk, affair=world.affair, reference="R-1", applicant=world.person, members=[]
    )
    sends = [
        {"item": world.pension_item, "provider": world.pension, "case": case},  # provided
        {"item": world.resident_item, "provider": world.board},  # held
        {"item": world.tax, "provider": world.mayor},  # refused
    ]
    outcomes = [send_request(world, **send).request for send in sends]
    outcomes.append(
        held_request_decide(staff=world.board_clerk, request=outcomes[1], release=True).request
    )
    for request in outcomes:
        for viewer in (world.mayor, world.board, None):
            serializer = OutcomeSerializer(request, context={"institution": viewer})
            generic = serializers.Serializer.to_representation(serializer, request)
            # The one field left out where the viewer may not know it (whether the subject
            # is 不開示: only the provider deciding a held request is told).
            if not nondisclosure_visible_to(request, viewer.pk if viewer else None):
                del generic["nondisclosure"]
            assert serializer.data == generic


def test_a_protected_record_is_released_over_the_api_only_with_a_listed_reason(world, api):
    world.person.disclosure_protected = True
    world.person.protection_reason = "DV等支援措置"
    world.person.save()
    sent = (
        api["mayor"]
        .post(
            "/api/agency/requests",
            body(item="TM00000000000004", provider="0110020000000002"),
            format="json",
        )
        .json()
    )
    url = f"/api/agency/held/{sent['request_id']}/release"
    assert api["board"].post(url, format="json").status_code == 409
    wrong = api["board"].post(url, {"decision_reason": "because"}, format="json")
    assert wrong.status_code == 400
    released = api["board"].post(url, {"decision_reason": "protection_ended"}, format="json")
    assert released.status_code == 200
    assert released.json()["status"] == "released"
    leaf = json.loads(LedgerIntake.objects.order_by("id").last().leaf)
    assert (leaf["type"], leaf["decision_reason"]) == ("linkage.release", "protection_ended")
