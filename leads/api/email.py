"""POST /api/v1/capture/email: a raw RFC 822 message in, what the email channel made of it out."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ..capture.email import email_ingest
from ..common.http import client_ip
from ..models import InboundEmail
from .permissions import CanIngestEmail

EMAIL_MEDIA_TYPE = "message/rfc822"
EMPTY_BODY = "Send the raw message as the request body."
UNSUPPORTED_TYPE = "Send the raw message with Content-Type: message/rfc822."


class RawEmailParser(BaseParser):
    """Hands the body through untouched: the email channel parses it."""

    media_type = EMAIL_MEDIA_TYPE

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read()


class EmailCaptureResultSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=InboundEmail.Kind.choices, help_text="What the message was.")
    lead = serializers.IntegerField(allow_null=True, help_text="The lead it made or was added to, if any.")
    created = serializers.BooleanField(help_text="A new lead was created.")
    duplicate = serializers.BooleanField(help_text="This Message-ID was taken before; nothing was added.")
    inbound_email = serializers.IntegerField(allow_null=True)
    linked_leads = serializers.ListField(child=serializers.IntegerField(), help_text="Copied leads it was added to.")
    reason = serializers.CharField(allow_blank=True, help_text="Why it made no lead, or why it is malformed.")


class EmailCaptureView(APIView):
    permission_classes = [CanIngestEmail]
    parser_classes = [RawEmailParser]

    @extend_schema(
        operation_id="capture_email",
        summary="Capture a raw email message",
        request={EMAIL_MEDIA_TYPE: OpenApiTypes.BINARY},
        responses={
            201: OpenApiResponse(EmailCaptureResultSerializer, description="A new lead was created."),
            200: OpenApiResponse(
                EmailCaptureResultSerializer,
                description="Added to a lead's timeline, ignored (bounce, auto-reply, list, own mail) or taken before.",
            ),
            202: OpenApiResponse(EmailCaptureResultSerializer, description="Malformed: stored for review."),
            400: OpenApiResponse(description="Empty body"),
            401: OpenApiResponse(description="No credentials"),
            403: OpenApiResponse(description="Not a manager"),
            413: OpenApiResponse(description="Body too large"),
            415: OpenApiResponse(description="Not message/rfc822"),
        },
        examples=[
            OpenApiExample(
                "A new lead",
                response_only=True,
                status_codes=["201"],
                value={
                    "kind": "new_lead",
                    "lead": 42,
                    "created": True,
                    "duplicate": False,
                    "inbound_email": 7,
                    "linked_leads": [],
                    "reason": "",
                },
            ),
        ],
    )
    def post(self, request):
        """Run one message through the email channel, as the pipe and the IMAP poller do."""
        if request.content_type.split(";", 1)[0].strip().lower() != EMAIL_MEDIA_TYPE:
            raise UnsupportedMediaType(request.content_type, detail=UNSUPPORTED_TYPE)
        raw = request.data
        if not isinstance(raw, bytes) or not raw.strip():
            return Response({"detail": EMPTY_BODY}, status=status.HTTP_400_BAD_REQUEST)
        result = email_ingest(
            raw=raw,
            source_detail="api",
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            actor=request.user,
        )
        body = {
            "kind": result.kind,
            "lead": result.lead.pk if result.lead else None,
            "created": result.created,
            "duplicate": result.duplicate,
            "inbound_email": result.inbound.pk if result.inbound else None,
            "linked_leads": result.linked_leads,
            "reason": result.reason,
        }
        if result.created:
            code = status.HTTP_201_CREATED
        elif result.kind == InboundEmail.Kind.MALFORMED and not result.duplicate:
            code = status.HTTP_202_ACCEPTED
        else:
            code = status.HTTP_200_OK
        return Response(body, status=code)
