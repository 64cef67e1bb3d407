"""The privacy API for managers: export a person (a streamed zip) and erase a person, by email
address or by lead."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from ..common.validation import MAX_ID
from ..roles import is_manager
from ..selectors import visible_to
from .erase import person_erase
from .export import EXPORT_NOTHING, person_export
from .views import archive_name, archive_response

SUBJECT_ONE_OF = "Give either email or lead, not both."
SUBJECT_REQUIRED = "Give the person's email address or a lead id."
LEAD_NOT_FOUND = "No such lead."


class IsManager(BasePermission):
    """Privacy requests read or remove everything about a person: managers only."""

    message = "Only managers handle privacy requests."

    def has_permission(self, request, view) -> bool:
        return is_manager(request.user)


class SubjectSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False, max_length=254)
    lead = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)

    def validate(self, attrs):
        if "email" in attrs and "lead" in attrs:
            raise serializers.ValidationError({"lead": [SUBJECT_ONE_OF]})
        if "email" not in attrs and "lead" not in attrs:
            raise serializers.ValidationError({"email": [SUBJECT_REQUIRED]})
        return attrs


def _subject(request, data) -> dict:
    """The validated subject: {"email": …} or {"lead": Lead} (404 for a lead the caller cannot see)."""
    serializer = SubjectSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    if "lead" in serializer.validated_data:
        lead = visible_to(request.user).filter(pk=serializer.validated_data["lead"]).first()
        if lead is None:
            raise NotFound(LEAD_NOT_FOUND)
        return {"lead": lead}
    return {"email": serializer.validated_data["email"]}


ErasureSerializer = inline_serializer(
    "Erasure",
    {
        "erasure": serializers.IntegerField(help_text="The erasure record's id."),
        "tombstone": serializers.CharField(allow_blank=True, help_text="The tombstone: a keyed hash of the address."),
        "erased_at": serializers.DateTimeField(),
        "counts": serializers.DictField(
            child=serializers.IntegerField(), help_text="Rows removed or redacted, per kind."
        ),
    },
)


class PrivacyExportView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="privacy_export",
        summary="Export everything held about a person (zip of JSON and .eml)",
        parameters=[
            OpenApiParameter("email", OpenApiTypes.EMAIL, description="The person's email address."),
            OpenApiParameter("lead", OpenApiTypes.INT, description="Or one of their leads."),
        ],
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The archive, streamed."),
            404: OpenApiResponse(description="No such lead, or nothing is held about the address."),
        },
    )
    def get(self, request):
        subject = _subject(request, request.query_params)
        try:
            _, chunks = person_export(**subject, by=request.user, via="api")
        except LookupError as exc:
            raise NotFound(EXPORT_NOTHING) from exc
        return archive_response(chunks, name=archive_name(lead=subject.get("lead")))


class PrivacyEraseView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="privacy_erase",
        summary="Erase every trace of a person and tombstone their address",
        request=SubjectSerializer,
        responses={200: ErasureSerializer, 404: OpenApiResponse(description="No such lead.")},
    )
    def post(self, request):
        subject = _subject(request, request.data)
        record = person_erase(**subject, by=request.user, via="api")
        return Response(
            {
                "erasure": record.pk,
                "tombstone": record.subject_digest,
                "erased_at": record.done_at,
                "counts": record.counts,
            },
            status=status.HTTP_200_OK,
        )
