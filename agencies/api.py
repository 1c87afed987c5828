"""The agency API: an institution's business system (業務システム) opens cases, sends 情報照会,
reads results and answers held requests. Views are thin: they authenticate the system, check
input with nested serializers and call the network services.

Every system acts only as its own institution: staff, cases, departments and requests are
looked up inside that institution, so another institution's ids are simply not found (404).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies import network, reference
from agencies.models import (
    Affair,
    AgencySystem,
    Case,
    InformationItem,
    Institution,
    LinkageRequest,
    LinkageStatus,
    Person,
    StaffMember,
)
from agencies.selectors import (
    OperatorName,
    agency_system_for_key,
    person_by_addressee_number,
    staff_by_username,
)
from agencies.services import CaseError, case_close, case_open


class AgencySystemPrincipal:
    """The authenticated caller: an agency system, standing in for a user."""

    is_authenticated = True
    is_active = True

    def __init__(self, system: AgencySystem) -> None:
        self.system = system
        self.institution = system.institution


class AgencyKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer yk_...`: the key's SHA-256 must match an active system."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[AgencySystemPrincipal, AgencySystem] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Authorization must be 'Bearer <key>'.")
        key = parts[1].decode("ascii", errors="replace")
        system = agency_system_for_key(key)
        if system is None:
            raise AuthenticationFailed("Unknown or inactive API key.")
        now = timezone.now()
        # At most one write a minute per system: this runs on every API request.
        if system.last_used_at is None or now - system.last_used_at > dt.timedelta(minutes=1):
            AgencySystem.objects.filter(pk=system.pk).update(last_used_at=now)
            system.last_used_at = now
        return AgencySystemPrincipal(system), system

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class AgencyKeyScheme(OpenApiAuthenticationExtension):
    target_class = "agencies.api.AgencyKeyAuthentication"
    name = "agencyKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "Agency system API key"}


class IsAgencySystem(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, AgencySystemPrincipal)


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Answers are always JSON: with one renderer there is nothing to choose, so the Accept
    header is not parsed (DRF's negotiation cost 3 % of a linkage request's CPU). Request
    bodies are still checked against the parsers: anything but JSON is a 415."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class FlatInputSerializer(serializers.Serializer[dict[str, Any]]):
    """An input serializer of plain fields (no nested serializers, no list or dict fields),
    built cheaply for every request.

    DRF deep-copies every declared field for each serializer instance, and each copy runs the
    field's __init__ again: a seventh of a linkage request's CPU. A plain field keeps no
    state of its own but its binding to the serializer (name, parent), which DRF sets on the
    copy, so a shallow copy is as good. Fields that hold other fields would share those, so
    they are refused when the class is defined."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, field in cls._declared_fields.items():
            if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child"):
                raise TypeError(
                    f"{cls.__name__}.{name}: a flat input serializer holds plain fields"
                )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {name: _shallow_copy(field) for name, field in self._declared_fields.items()}


def _shallow_copy(field: Any) -> Any:
    # copy.copy's generic __reduce_ex__ path costs three times this.
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


class AgencyView(APIView):
    """A machine-to-machine endpoint: JSON in and out, nothing else offered or parsed
    (no form bodies, no browsable pages)."""

    authentication_classes = [AgencyKeyAuthentication]
    permission_classes = [IsAgencySystem]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation

    def institution(self, request: Request) -> Institution:
        return request.user.institution  # type: ignore[union-attr]

    def staff(self, request: Request, username: str) -> StaffMember:
        """The named staff member, only within the caller's institution."""
        staff = staff_by_username(institution=self.institution(request), username=username)
        if staff is None:
            raise ValidationError({"staff": network.STAFF_NOT_FOUND})
        return staff

    def person(self, request: Request, addressee_number: str, field: str) -> Person:
        found = person_by_addressee_number(
            organization_id=self.institution(request).organization_id, number=addressee_number
        )
        if found is None:
            raise ValidationError({field: "no person with this addressee number"})
        return found


@extend_schema_field(OpenApiTypes.STR)
class CodeField(serializers.Field):
    """A 16-character code resolved to its row through the per-process reference cache."""

    def __init__(self, model: Any, **kwargs: Any) -> None:
        self.model = model
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not 1 <= len(data) <= 16:
            raise serializers.ValidationError("a code of at most 16 characters is required")
        found = reference.by_code(self.model, data)
        if found is None:
            raise serializers.ValidationError(f"no {self.model.__name__} with code {data!r}")
        return found

    def to_representation(self, value: Any) -> str:
        return str(value.code)


def _code_field(model: Any, *, prefix: str) -> CodeField:
    return CodeField(model, help_text=f"{prefix} code")


class MessageSerializer(serializers.Serializer[dict[str, str]]):
    code = serializers.CharField()
    ja = serializers.CharField()
    en = serializers.CharField()


# Outside the serializer class: DRF's metaclass would take a class attribute for a field.
_DATETIME = serializers.DateTimeField()


class OutcomeSerializer(serializers.Serializer[LinkageRequest]):
    request_id = serializers.UUIDField()
    kind = serializers.CharField()
    status = serializers.ChoiceField(choices=LinkageStatus.choices)
    requester = serializers.CharField(source="requester.code")
    provider = serializers.CharField(source="provider.code")
    affair = serializers.CharField(source="affair.code")
    item = serializers.CharField(source="item.code")
    case = serializers.SerializerMethodField(help_text="the requester's 受付番号 (requester only)")
    nondisclosure = serializers.BooleanField(
        required=False,
        help_text="whether the subject is 不開示: present only for the provider of a request held "
        "for its manual answer, which must know in order to decide; never for the requester",
    )
    requested_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    message = serializers.SerializerMethodField()
    payload = serializers.SerializerMethodField()

    def get_message(self, obj: LinkageRequest) -> dict[str, str] | None:
        return network.LinkageOutcome(obj).message_for(self._viewer_id())

    def _viewer_id(self) -> int | None:
        viewer = self.context.get("institution")
        return viewer.pk if viewer is not None else None

    def _for_requester(self, obj: LinkageRequest) -> bool:
        viewer = self._viewer_id()
        return viewer is not None and obj.requester_id == viewer

    def get_case(self, obj: LinkageRequest) -> str | None:
        # The requester's own reference: the provider learns the affair, not the file.
        return obj.case.reference if obj.case is not None and self._for_requester(obj) else None

    def get_payload(self, obj: LinkageRequest) -> dict[str, Any] | None:
        # The answer goes to the requester only, never to the provider's listing.
        return obj.payload if self._for_requester(obj) else None

    def to_representation(self, instance: LinkageRequest) -> dict[str, Any]:
        """The declared fields, written out: DRF's generic path deep-copies every field of the
        serializer on each use, a noticeable share of a request's CPU. A test holds the two
        equal for every outcome."""
        answered_at = instance.answered_at
        document = {
            "request_id": str(instance.request_id),
            "kind": instance.kind,
            "status": instance.status,
            "requester": instance.requester.code,
            "provider": instance.provider.code,
            "affair": instance.affair.code,
            "item": instance.item.code,
            "case": self.get_case(instance),
            "nondisclosure": instance.nondisclosure,
            "requested_at": _DATETIME.to_representation(instance.requested_at),
            "answered_at": _DATETIME.to_representation(answered_at) if answered_at else None,
            "message": self.get_message(instance),
            "payload": self.get_payload(instance),
        }
        if not network.nondisclosure_visible_to(instance, self._viewer_id()):
            del document["nondisclosure"]
        return document


def _outcome(request: LinkageRequest, institution: Institution) -> dict[str, Any]:
    return OutcomeSerializer(request, context={"institution": institution}).data


class SendRequestView(AgencyView):
    class SendRequestInput(FlatInputSerializer):
        request_id = serializers.UUIDField()
        staff = serializers.CharField(max_length=150, help_text="the operator's username")
        affair = _code_field(Affair, prefix="JT affair")
        item = _code_field(InformationItem, prefix="TM item")
        provider = _code_field(Institution, prefix="16-digit provider institution")
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
            outcome = network.linkage_request_send(
                # Looked up by the service, within this institution, in the statement that
                # reads everything else the network decides on.
                staff=OperatorName(institution, v["staff"], v.get("case") or None),
                request_id=v["request_id"],
                affair=v["affair"],
                item=v["item"],
                provider=v["provider"],
                addressee_number=v.get("addressee_number"),
                my_number=v.get("my_number"),
                terminal=v.get("terminal", ""),
            )
        except network.OperatorNotFound as exc:
            raise ValidationError({exc.field: str(exc)}) from None
        except DjangoValidationError as exc:
            # A malformed My Number is a client error; its message never repeats the number.
            raise ValidationError({"my_number": exc.messages}) from None
        code: int = status.HTTP_201_CREATED
        if outcome.conflict:
            code = status.HTTP_409_CONFLICT  # refused and recorded; the first request stands
        elif outcome.replayed:
            code = status.HTTP_200_OK
        return Response(_outcome(outcome.request, institution), status=code)


class RequestDetailView(AgencyView):
    @extend_schema(
        responses={200: OutcomeSerializer}, tags=["agency"], summary="Read a request's outcome"
    )
    def get(self, request: Request, request_id: str) -> Response:
        institution = self.institution(request)
        found = (
            LinkageRequest.objects.select_related("requester", "provider", "affair", "item", "case")
            .filter(request_id=request_id)
            .first()
        )
        if found is None or institution.pk not in (found.requester_id, found.provider_id):
            raise NotFound("no such request for this institution")
        return Response(_outcome(found, institution))


class HeldListView(AgencyView):
    @extend_schema(
        responses={200: OutcomeSerializer(many=True)},
        tags=["agency"],
        summary="Requests held for this institution's manual answer",
    )
    def get(self, request: Request) -> Response:
        institution = self.institution(request)
        held = (
            LinkageRequest.objects.select_related("requester", "provider", "affair", "item", "case")
            .filter(provider=institution, status=LinkageStatus.HELD)
            .order_by("requested_at")[:500]
        )
        return Response([_outcome(r, institution) for r in held])


class DecideInput(FlatInputSerializer):
    staff = serializers.CharField(max_length=150)


class HeldDecisionView(AgencyView):
    release: bool = True

    @extend_schema(request=DecideInput, responses={200: OutcomeSerializer}, tags=["agency"])
    def post(self, request: Request, request_id: str) -> Response:
        data = DecideInput(data=request.data)
        data.is_valid(raise_exception=True)
        institution = self.institution(request)
        staff = self.staff(request, data.validated_data["staff"])
        held = LinkageRequest.objects.filter(request_id=request_id, provider=institution).first()
        if held is None:
            raise NotFound("no such held request for this institution")
        try:
            outcome = network.held_request_decide(staff=staff, request=held, release=self.release)
        except network.NotAllowed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(_outcome(outcome.request, institution))


class MemberInput(serializers.Serializer[dict[str, str]]):
    addressee_number = serializers.RegexField(r"^[0-9]{1,15}$")
    role = serializers.CharField(max_length=20, default="世帯員")


class CaseOutput(serializers.Serializer[Case]):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    affair = serializers.CharField(source="affair.code")
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)


class CaseOpenView(AgencyView):
    class CaseOpenInput(serializers.Serializer[dict[str, Any]]):
        staff = serializers.CharField(max_length=150)
        affair = _code_field(Affair, prefix="JT affair")
        reference = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")
        applicant_addressee_number = serializers.RegexField(r"^[0-9]{1,15}$")
        members = MemberInput(many=True, required=False)

    @extend_schema(
        request=CaseOpenInput,
        responses={201: CaseOutput},
        tags=["agency"],
        summary="Open a case with its household members",
    )
    def post(self, request: Request) -> Response:
        data = self.CaseOpenInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        staff = self.staff(request, v["staff"])
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
        request=DecideInput, responses={200: CaseOutput}, tags=["agency"], summary="Close a case"
    )
    def post(self, request: Request, case_id: int) -> Response:
        data = DecideInput(data=request.data)
        data.is_valid(raise_exception=True)
        staff = self.staff(request, data.validated_data["staff"])
        case = get_object_or_404(
            Case, pk=case_id, department__institution=self.institution(request)
        )
        try:
            case = case_close(staff=staff, case=case)
        except CaseError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(CaseOutput(case).data)
