"""POST /api/v1/capture: the generic way in for integrations."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from ..capture.service import CaptureContext, CaptureEvent, CaptureRejected, capture
from ..common.http import client_ip
from ..common.safejson import SafeJSONParser
from ..models import Lead
from ..roles import is_manager, user_roles
from ..selectors import editable_by, visible_to

INVALID_SOURCE = "Not a channel: use one of {choices}."


class CaptureInputSerializer(serializers.Serializer):
    """Documents the input; validation itself is capture_clean (shared by every channel)."""

    first_name = serializers.CharField(required=False)
    last_name = serializers.CharField(required=False)
    email = serializers.EmailField(required=False)
    phone = serializers.CharField(required=False)
    company = serializers.CharField(required=False)
    job_title = serializers.CharField(required=False)
    website = serializers.CharField(required=False)
    country = serializers.CharField(required=False)
    source = serializers.ChoiceField(choices=Lead.Source.choices, required=False, default=Lead.Source.API)
    source_detail = serializers.CharField(required=False)
    external_id = serializers.CharField(required=False)
    utm_source = serializers.CharField(required=False)
    utm_medium = serializers.CharField(required=False)
    utm_campaign = serializers.CharField(required=False)
    attributes = serializers.DictField(required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    message = serializers.CharField(required=False, help_text="Goes onto the timeline.")


class CaptureResultSerializer(serializers.Serializer):
    lead = serializers.IntegerField()
    created = serializers.BooleanField()
    possible_duplicates = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of similar leads the caller may see (never others)."
    )


class CanCapture(BasePermission):
    """Any user with a role (or a superuser) may feed leads in."""

    def has_permission(self, request, view) -> bool:
        return request.user.is_authenticated and (request.user.is_superuser or bool(user_roles(request.user)))


class CaptureView(APIView):
    permission_classes = [CanCapture]
    # JSON only: the body carries nested attributes and tag lists that a form cannot express.
    parser_classes = [SafeJSONParser]

    @extend_schema(
        request=CaptureInputSerializer,
        responses={
            201: CaptureResultSerializer,
            200: CaptureResultSerializer,
            400: OpenApiResponse(description="Per-field errors"),
            413: OpenApiResponse(description="Body too large"),
        },
    )
    def post(self, request):
        """Create a lead, or merge into the existing one (by external id, email or phone)."""
        if not isinstance(request.data, dict):
            return Response({"non_field_errors": ["Send a JSON object."]}, status=status.HTTP_400_BAD_REQUEST)
        data = dict(request.data)
        channel = data.pop("source", Lead.Source.API)
        if channel not in Lead.Source.values:
            return Response({"source": [INVALID_SOURCE.format(choices=", ".join(Lead.Source.values))]}, status=400)
        message = data.pop("message", "")
        if not isinstance(message, str) or "\x00" in message:
            return Response({"message": ["Must be text without NUL characters."]}, status=400)
        context = CaptureContext(
            channel=channel,
            source_detail=str(data.get("source_detail") or "")[:200],
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            payload=request.data,
            actor=request.user,
        )
        try:
            # A capture never changes a lead its sender may not edit (a rep: one outside visible_to;
            # a marketer: any): such a match becomes a new lead flagged as its possible duplicate
            # for a manager, and the answer does not name the other lead.
            result = capture(
                data=data,
                context=context,
                event=CaptureEvent(body=message),
                strict=True,
                detect_duplicates=True,
                within=None if is_manager(request.user) else editable_by(request.user),
            )
        except CaptureRejected as exc:
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        similar = {d.other_id if d.lead_id == result.lead.pk else d.lead_id for d in result.possible_duplicates}
        if similar and not is_manager(request.user):  # name only leads the caller may see
            similar = set(visible_to(request.user).filter(pk__in=similar).values_list("pk", flat=True))
        body = {"lead": result.lead.pk, "created": result.created, "possible_duplicates": sorted(similar)}
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
