"""The agency API: an institution's business system (業務システム) opens cases, sends 情報照会,
reads results and answers held requests. Views are thin: they authenticate the system, check
input with nested serializers, call the network services, and read through selectors.

Every system acts only as its own institution: staff, cases, departments and requests are
looked up inside that institution, so another institution's ids are simply not found (404).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.api.auth import AgencyKeyAuthentication, IsAgencySystem
from agencies.api.fast_drf import FlatInputSerializer, JSONOnlyNegotiation
from agencies.api.parsers import BoundedJSONParser
from agencies.api.serializers import (
    CaseOutput,
    MemberInput,
    OutcomeSerializer,
    code_field,
    outcome_document,
)
from agencies.api.throttling import AgencySystemRateThrottle
from agencies.models import (
    MAX_CASE_MEMBERS,
    Affair,
    InformationItem,
    Institution,
    Person,
    StaffMember,
)
from agencies.network.facts import PresentedOperator
from agencies.network.reasons import (
    OPERATOR_NOT_ACCEPTED,
    RELEASE_REASONS,
    NotAllowed,
    OperatorNotFound,
)
from agencies.network.services import (
    held_request_decide,
    internal_transfer_send,
    linkage_request_send,
)
from agencies.selectors import (
    case_by_reference,
    case_of_institution,
    held_requests_of_provider,
    person_by_addressee_number,
    request_asked_of,
    request_for_institution,
    staff_by_credential,
)
from agencies.services import CaseError, case_close, case_open

OPERATOR_PARAMETER = OpenApiParameter(
    "X-Operator-Credential",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="the operating staff member's own credential (yo_...), issued to them and "
    "revocable on its own; the network checks it within the calling system's institution",
)


class AgencyView(APIView):
    """A machine-to-machine endpoint: JSON in and out, nothing else offered or parsed
    (no form bodies, no browsable pages)."""

    authentication_classes = [AgencyKeyAuthentication]
    permission_classes = [IsAgencySystem]
    throttle_classes = [AgencySystemRateThrottle]
    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation

    def institution(self, request: Request) -> Institution:
        return request.user.institution  # type: ignore[union-attr]

    def operator_credential(self, request: Request) -> str:
        """The operator's own credential, as presented in the X-Operator-Credential header
        (400 when it is missing or cannot be one)."""
        credential = request.META.get("HTTP_X_OPERATOR_CREDENTIAL", "").strip()
        if not credential:
            raise ValidationError(
                {
                    "operator": "the X-Operator-Credential header is required: the credential of "
                    "the staff member who operates this request"
                }
            )
        if len(credential) > 100 or not credential.isascii():
            raise ValidationError({"operator": "X-Operator-Credential is not a credential"})
        return credential

    def staff(self, request: Request) -> StaffMember:
        """The staff member whose operator credential the request presents, only within the
        caller's institution (403 for an unknown, revoked or foreign credential)."""
        staff = staff_by_credential(
            institution=self.institution(request), credential=self.operator_credential(request)
        )
        if staff is None:
            raise PermissionDenied(OPERATOR_NOT_ACCEPTED)
        return staff

    def person(self, request: Request, addressee_number: str, field: str) -> Person:
        found = person_by_addressee_number(
            organization_id=self.institution(request).organization_id, number=addressee_number
        )
        if found is None:
            raise ValidationError({field: "no person with this addressee number"})
        return found


class SendRequestView(AgencyView):
    class SendRequestInput(FlatInputSerializer):
        request_id = serializers.UUIDField()
        affair = code_field(Affair, prefix="JT affair")
        item = code_field(InformationItem, prefix="TM item")
        provider = code_field(Institution, prefix="16-digit provider institution")
        case = serializers.CharField(required=False, allow_blank=True, max_length=40)
        addressee_number = serializers.RegexField(r"^[0-9]{1,15}$", required=False)
        my_number = serializers.CharField(required=False, write_only=True, max_length=40)
        terminal = serializers.RegexField(
            r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$", required=False, help_text="the operator's terminal"
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if bool(attrs.get("addressee_number")) == bool(attrs.get("my_number")):
                raise serializers.ValidationError(
                    "give exactly one of addressee_number and my_number"
                )
            return attrs

    @extend_schema(
        request=SendRequestInput,
        parameters=[OPERATOR_PARAMETER],
        responses={200: OutcomeSerializer, 201: OutcomeSerializer, 409: OutcomeSerializer},
        tags=["agency"],
        summary="Send a 情報照会",
    )
    def post(self, request: Request) -> Response:
        data = self.SendRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        institution = self.institution(request)
        try:
            outcome = linkage_request_send(
                # Checked by the service, within this institution, in the statement that
                # reads everything else the network decides on.
                staff=PresentedOperator(
                    institution, self.operator_credential(request), v.get("case") or None
                ),
                request_id=v["request_id"],
                affair=v["affair"],
                item=v["item"],
                provider=v["provider"],
                addressee_number=v.get("addressee_number"),
                my_number=v.get("my_number"),
                terminal=v.get("terminal", ""),
            )
        except OperatorNotFound as exc:
            if exc.field == "operator":
                raise PermissionDenied(str(exc)) from None
            raise ValidationError({exc.field: str(exc)}) from None
        except DjangoValidationError as exc:
            # A malformed My Number is a client error; its message never repeats the number.
            raise ValidationError({"my_number": exc.messages}) from None
        code: int = status.HTTP_201_CREATED
        if outcome.conflict:
            code = status.HTTP_409_CONFLICT  # refused and recorded; the first request stands
        elif outcome.replayed:
            code = status.HTTP_200_OK
        return Response(outcome_document(outcome.request, institution), status=code)


class InternalTransferView(AgencyView):
    class InternalTransferInput(FlatInputSerializer):
        request_id = serializers.UUIDField()
        affair = code_field(Affair, prefix="JT affair (the using affair)")
        item = code_field(InformationItem, prefix="TM item")
        from_affair = code_field(
            Affair,
            prefix="JT affair (the providing affair; omit for the resident register)",
            required=False,
        )
        case = serializers.CharField(required=False, allow_blank=True, max_length=40)
        addressee_number = serializers.RegexField(r"^[0-9]{1,15}$")
        terminal = serializers.RegexField(
            r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$", required=False, help_text="the operator's terminal"
        )

    @extend_schema(
        request=InternalTransferInput,
        parameters=[OPERATOR_PARAMETER],
        responses={200: OutcomeSerializer, 201: OutcomeSerializer, 409: OutcomeSerializer},
        tags=["agency"],
        summary="Use data of another affair of this institution (庁内連携)",
        description="Inside one institution, under the organisation's ordinance (条例で定める"
        "庁内利用): the using affair, item and providing affair must be a row in force, or the "
        "transfer is refused (not_in_ordinance) and recorded. The data comes from the "
        "institution's own records. Not a network request: the permitted table does not apply.",
    )
    def post(self, request: Request) -> Response:
        data = self.InternalTransferInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        institution = self.institution(request)
        staff = self.staff(request)
        case = None
        if v.get("case"):
            case = case_by_reference(staff=staff, reference=v["case"])
            if case is None:
                raise ValidationError({"case": "no such case in this institution"})
        outcome = internal_transfer_send(
            staff=staff,
            request_id=v["request_id"],
            affair=v["affair"],
            from_affair=v.get("from_affair"),
            item=v["item"],
            case=case,
            addressee_number=v["addressee_number"],
            terminal=v.get("terminal", ""),
        )
        code: int = status.HTTP_201_CREATED
        if outcome.conflict:
            code = status.HTTP_409_CONFLICT
        elif outcome.replayed:
            code = status.HTTP_200_OK
        return Response(outcome_document(outcome.request, institution), status=code)


class RequestDetailView(AgencyView):
    @extend_schema(
        responses={200: OutcomeSerializer}, tags=["agency"], summary="Read a request's outcome"
    )
    def get(self, request: Request, request_id: uuid.UUID) -> Response:
        institution = self.institution(request)
        found = request_for_institution(institution=institution, request_id=request_id)
        if found is None:
            raise NotFound("no such request for this institution")
        return Response(outcome_document(found, institution))


class HeldListView(AgencyView):
    @extend_schema(
        responses={200: OutcomeSerializer(many=True)},
        tags=["agency"],
        summary="Requests held for this institution's manual answer",
    )
    def get(self, request: Request) -> Response:
        institution = self.institution(request)
        held = held_requests_of_provider(institution=institution, limit=500)
        return Response([outcome_document(r, institution) for r in held])


class HeldDecisionView(AgencyView):
    release: bool = True

    class DecisionInput(serializers.Serializer[dict[str, Any]]):
        decision_reason = serializers.ChoiceField(
            choices=sorted(RELEASE_REASONS),
            required=False,
            help_text="releasing a request held because its subject is 不開示 needs one of "
            "these reasons, which the release's ledger entry records",
        )

    @extend_schema(
        request=DecisionInput,
        parameters=[OPERATOR_PARAMETER],
        responses={200: OutcomeSerializer},
        tags=["agency"],
    )
    def post(self, request: Request, request_id: uuid.UUID) -> Response:
        institution = self.institution(request)
        staff = self.staff(request)
        data = self.DecisionInput(data=request.data or {})
        data.is_valid(raise_exception=True)
        held = request_asked_of(institution=institution, request_id=request_id)
        if held is None:
            raise NotFound("no such held request for this institution")
        try:
            outcome = held_request_decide(
                staff=staff,
                request=held,
                release=self.release,
                decision_reason=data.validated_data.get("decision_reason", ""),
            )
        except NotAllowed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(outcome_document(outcome.request, institution))


class CaseOpenView(AgencyView):
    class CaseOpenInput(serializers.Serializer[dict[str, Any]]):
        affair = code_field(Affair, prefix="JT affair")
        reference = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")
        applicant_addressee_number = serializers.RegexField(r"^[0-9]{1,15}$")
        members = MemberInput(  # type: ignore[call-arg]  # ListSerializer's arguments
            many=True,
            required=False,
            max_length=MAX_CASE_MEMBERS - 1,
            help_text=f"the people the case concerns besides the applicant (at most "
            f"{MAX_CASE_MEMBERS - 1}): members of the applicant's household, or others with a "
            f"stated relation",
        )

    @extend_schema(
        request=CaseOpenInput,
        parameters=[OPERATOR_PARAMETER],
        responses={201: CaseOutput},
        tags=["agency"],
        summary="Open a case with its household members",
    )
    def post(self, request: Request) -> Response:
        data = self.CaseOpenInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        staff = self.staff(request)
        applicant = self.person(
            request, v["applicant_addressee_number"], "applicant_addressee_number"
        )
        members = [
            (self.person(request, m["addressee_number"], "members"), m["role"])
            for m in v.get("members", [])
        ]
        try:
            case = case_open(
                staff=staff,
                affair=v["affair"],
                reference=v["reference"],
                applicant=applicant,
                members=members,
            )
        except CaseError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(CaseOutput(case).data, status=status.HTTP_201_CREATED)


class CaseCloseView(AgencyView):
    @extend_schema(
        request=None,
        parameters=[OPERATOR_PARAMETER],
        responses={200: CaseOutput},
        tags=["agency"],
        summary="Close a case",
    )
    def post(self, request: Request, case_id: int) -> Response:
        staff = self.staff(request)
        case = case_of_institution(institution=self.institution(request), case_id=case_id)
        if case is None:
            raise NotFound("no such case for this institution")
        try:
            case = case_close(staff=staff, case=case)
        except CaseError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(CaseOutput(case).data)
