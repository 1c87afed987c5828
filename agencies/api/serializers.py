"""The agency API's shared input fields and its output shapes, each declared once."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agencies import reference
from agencies.api.fast_drf import PlannedOutputSerializer
from agencies.models import (
    OUTSIDE_HOUSEHOLD_RELATIONS,
    Case,
    Institution,
    LinkageRequest,
    LinkageStatus,
)
from agencies.network.outcomes import LinkageOutcome, nondisclosure_visible_to


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


def code_field(model: Any, *, prefix: str, **kwargs: Any) -> CodeField:
    return CodeField(model, help_text=f"{prefix} code", **kwargs)


class OutcomeSerializer(PlannedOutputSerializer[LinkageRequest]):
    """A request's outcome as the viewing institution (context["institution"]) may see it:
    the answer and the case reference for the requester only, the cause of a hold and the
    不開示 marker for the provider deciding it only."""

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
        return LinkageOutcome(obj).message_for(self._viewer_id())

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

    def omitted(self, instance: LinkageRequest) -> tuple[str, ...]:
        # Whether the subject is 不開示 is told only to the provider deciding a held request.
        if nondisclosure_visible_to(instance, self._viewer_id()):
            return ()
        return ("nondisclosure",)


def outcome_document(request: LinkageRequest, institution: Institution) -> dict[str, Any]:
    """The outcome of request as institution sees it."""
    return OutcomeSerializer(request, context={"institution": institution}).data


class MemberInput(serializers.Serializer[dict[str, str]]):
    addressee_number = serializers.RegexField(r"^[0-9]{1,15}$")
    role = serializers.CharField(
        max_length=20,
        default="世帯員",
        help_text="続柄: for a member of the applicant's household any (default 世帯員); for "
        "anyone else one of " + "、".join(OUTSIDE_HOUSEHOLD_RELATIONS),
    )


class CaseOutput(serializers.Serializer[Case]):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    affair = serializers.CharField(source="affair.code")
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
