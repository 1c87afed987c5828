"""HTTP API of the transparency log: public checkpoint and consistency proofs; inclusion
proofs and receipts for auditors (residents get theirs through the portal)."""

from __future__ import annotations

import base64
from typing import Any

from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.ledger import (
    EntryExpired,
    consistency_proof_between,
    cosigned_note,
    inclusion_proof_for,
    latest_checkpoint,
)
from audit.ledger import receipt_for as build_receipt
from audit.selectors import entry_exists, entry_within_retention, user_is_auditor


class IsAuditor(BasePermission):
    """Members of the auditors group (監査担当)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_is_auditor(request.user)


def _b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode("ascii") for h in items]


class CheckpointView(APIView):
    """The latest signed checkpoint, as C2SP signed-note text."""

    permission_classes = [AllowAny]

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR}, tags=["log"])
    def get(self, request: Request) -> HttpResponse:
        checkpoint = latest_checkpoint()
        if checkpoint is None:
            return HttpResponse("no checkpoint yet\n", status=503, content_type="text/plain")
        response = HttpResponse(cosigned_note(checkpoint), content_type="text/plain; charset=utf-8")
        # Public and signed, with no personal data: monitors and witnesses polling it may share
        # a cached copy for a few seconds (a slightly older checkpoint is still a valid one).
        # Everything else gets no-store (config.security.NoStoreMiddleware).
        patch_cache_control(response, public=True, max_age=5)
        return response


class ConsistencyQuery(serializers.Serializer[dict[str, int]]):
    old = serializers.IntegerField(min_value=1)
    new = serializers.IntegerField(min_value=1)

    def validate(self, attrs: dict[str, int]) -> dict[str, int]:
        if attrs["old"] > attrs["new"]:
            raise serializers.ValidationError("old must not be larger than new")
        checkpoint = latest_checkpoint()
        if checkpoint is None or attrs["new"] > checkpoint.size:
            raise serializers.ValidationError("new is larger than the latest signed checkpoint")
        return attrs


class ConsistencyOutput(serializers.Serializer[dict[str, Any]]):
    old = serializers.IntegerField()
    new = serializers.IntegerField()
    proof = serializers.ListField(
        child=serializers.CharField(), help_text="base64 hashes, RFC 9162 order"
    )


class InclusionOutput(serializers.Serializer[dict[str, Any]]):
    seq = serializers.IntegerField()
    size = serializers.IntegerField(help_text="the size of the tree the proof is for")
    proof = serializers.ListField(
        child=serializers.CharField(), help_text="base64 hashes, RFC 9162 order"
    )


class ConsistencyView(APIView):
    """A consistency proof between two tree sizes (base64 hashes, RFC 9162 order)."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("old", int, required=True),
            OpenApiParameter("new", int, required=True),
        ],
        responses={200: ConsistencyOutput},
        tags=["log"],
    )
    def get(self, request: Request) -> Response:
        query = ConsistencyQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        old, new = query.validated_data["old"], query.validated_data["new"]
        proof = _b64(consistency_proof_between(old, new))
        return Response(ConsistencyOutput({"old": old, "new": new, "proof": proof}).data)


class InclusionView(APIView):
    """An inclusion proof of entry seq in the tree of the latest checkpoint (auditors)."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuditor]

    @extend_schema(responses={200: InclusionOutput}, tags=["log"])
    def get(self, request: Request, seq: int) -> Response:
        checkpoint = latest_checkpoint()
        if checkpoint is None or seq >= checkpoint.size:
            return Response(
                {"detail": "entry not covered by a signed checkpoint"},
                status=status.HTTP_404_NOT_FOUND,
            )
        if not entry_within_retention(seq):
            return Response(
                {"detail": "entry is past the retention period"}, status=status.HTTP_410_GONE
            )
        proof = _b64(inclusion_proof_for(seq, checkpoint.size))
        return Response(InclusionOutput({"seq": seq, "size": checkpoint.size, "proof": proof}).data)


class ReceiptView(APIView):
    """A C2SP tlog-proof receipt for entry seq, leaf included (auditors)."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuditor]

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR}, tags=["log"])
    def get(self, request: Request, seq: int) -> HttpResponse:
        checkpoint = latest_checkpoint()
        if checkpoint is None or seq >= checkpoint.size or not entry_exists(seq):
            return HttpResponse(
                "entry not covered by a signed checkpoint\n", status=404, content_type="text/plain"
            )
        try:
            receipt = build_receipt(seq)
        except EntryExpired:
            return HttpResponse(
                "entry is past the retention period\n", status=410, content_type="text/plain"
            )
        response = HttpResponse(receipt, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="entry-{seq}.tlog-proof"'
        return response
