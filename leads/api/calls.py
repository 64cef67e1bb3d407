"""POST /api/v1/calls/inbound and POST /api/v1/calls/{call_id}/end: phone calls.

The answer is JSON, or TwiML when the request asks for XML (Accept: application/xml or text/xml,
or ?format=xml), for an integration that sends a manager's token. Twilio's own field names (From,
To, CallSid, CallDuration, CallStatus) are accepted besides ours, but Twilio itself signs its requests
and sends no token: its webhooks are leads/telephony's (docs/telephony-twilio.md).
"""

from xml.etree import ElementTree

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..common.safejson import SafeJSONParser
from ..telephony.calls import CallError, call_end, call_route
from ..telephony.twiml import VOICEMAIL_PROMPT
from .permissions import CanEndCalls, CanRouteCalls

SEND_AN_OBJECT = "Send a JSON object or a form."


class TwiMLRenderer(BaseRenderer):
    """The routing answer as TwiML: <Dial><Number> for an agent, <Say> + <Record> for voicemail."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        root = ElementTree.Element("Response")
        if isinstance(data, dict) and data.get("route") in ("agent", "team") and data.get("dial"):
            dial = ElementTree.SubElement(root, "Dial")
            ElementTree.SubElement(dial, "Number").text = data["dial"]
        elif isinstance(data, dict) and data.get("route"):
            ElementTree.SubElement(root, "Say").text = VOICEMAIL_PROMPT
            ElementTree.SubElement(root, "Record", maxLength="120")
        elif isinstance(data, dict) and "ended" in data:
            pass  # an end acknowledged: nothing for the provider to do
        else:  # an error: its messages, for the provider's logs
            error = ElementTree.SubElement(root, "Error")
            for field, messages in (data or {}).items() if isinstance(data, dict) else []:
                for message in messages if isinstance(messages, list) else [messages]:
                    ElementTree.SubElement(error, "Message", field=str(field)).text = str(message)
        return b'<?xml version="1.0" encoding="UTF-8"?>' + ElementTree.tostring(root, encoding="unicode").encode()


class TextXMLRenderer(TwiMLRenderer):
    media_type = "text/xml"


RENDERERS = [JSONRenderer, TwiMLRenderer, TextXMLRenderer]

CallAnswerSerializer = inline_serializer(
    name="CallAnswer",
    fields={
        "route": serializers.ChoiceField(choices=["agent", "team", "voicemail"]),
        "agent": serializers.CharField(allow_null=True, help_text="Username of the rep to ring."),
        "dial": serializers.CharField(allow_null=True, help_text="The rep's number (E.164) to dial."),
        "lead": serializers.IntegerField(allow_null=True),
        "call_id": serializers.CharField(),
    },
)
CallInboundSerializer = inline_serializer(
    name="CallInbound",
    fields={
        "from": serializers.CharField(help_text="The caller's number, E.164 (or 'anonymous' when withheld)."),
        "to": serializers.CharField(help_text="The number called: a team's or an agent's, E.164."),
        "call_id": serializers.CharField(
            required=False, help_text="The provider's id of the call; one is made up if missing."
        ),
    },
)
CallEndSerializer = inline_serializer(
    name="CallEnd",
    fields={
        "duration": serializers.IntegerField(min_value=0, max_value=86400, help_text="Seconds."),
        "outcome": serializers.CharField(
            max_length=100, help_text="answered, completed, no_answer, busy, voicemail, failed…"
        ),
    },
)
CallEndedSerializer = inline_serializer(
    name="CallEnded",
    fields={
        "call_id": serializers.CharField(),
        "ended": serializers.BooleanField(),
        "duration": serializers.IntegerField(),
        "outcome": serializers.CharField(),
        "lead": serializers.IntegerField(allow_null=True),
    },
)


def _field(data, *names):
    for name in names:
        if name in data:
            value = data.get(name)
            return value[0] if isinstance(value, list) and len(value) == 1 else value
    return None


def _error(exc: CallError) -> Response:
    return Response({exc.field: [exc.message]}, status=exc.status)


class CallInboundView(APIView):
    permission_classes = [CanRouteCalls]
    renderer_classes = RENDERERS
    parser_classes = [SafeJSONParser, FormParser]

    @extend_schema(
        request=CallInboundSerializer,
        responses={
            200: CallAnswerSerializer,
            400: OpenApiResponse(description="Per-field errors"),
            401: OpenApiResponse(description="No credentials"),
            403: OpenApiResponse(description="Not a manager"),
            404: OpenApiResponse(description="The number called belongs to no team or agent"),
        },
        examples=[
            OpenApiExample(
                "A call", value={"from": "+442079460958", "to": "+442079460000", "call_id": "CA123"}, request_only=True
            )
        ],
    )
    def post(self, request):
        """Where to route an inbound call: the lead's owner, the team's next rep, or voicemail."""
        if not hasattr(request.data, "get"):
            return Response({"non_field_errors": [SEND_AN_OBJECT]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            answer = call_route(
                from_number=_field(request.data, "from", "From"),
                to_number=_field(request.data, "to", "To"),
                call_id=_field(request.data, "call_id", "CallSid"),
            )
        except CallError as exc:
            return _error(exc)
        return Response(answer)


class CallEndView(APIView):
    permission_classes = [CanEndCalls]
    renderer_classes = RENDERERS
    parser_classes = [SafeJSONParser, FormParser]

    @extend_schema(
        request=CallEndSerializer,
        responses={
            200: CallEndedSerializer,
            400: OpenApiResponse(description="Per-field errors"),
            401: OpenApiResponse(description="No credentials"),
            403: OpenApiResponse(description="A marketer or no role"),
            404: OpenApiResponse(description="No such call, or not one of the caller's"),
            409: OpenApiResponse(description="Already ended differently"),
        },
    )
    def post(self, request, call_id: str):
        """Complete a call with its duration and outcome (shown on the lead's timeline)."""
        if not hasattr(request.data, "get"):
            return Response({"non_field_errors": [SEND_AN_OBJECT]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            call = call_end(
                call_id=call_id,
                duration=_field(request.data, "duration", "CallDuration"),
                outcome=_field(request.data, "outcome", "CallStatus"),
                by=request.user,
            )
        except CallError as exc:
            return _error(exc)
        return Response(
            {
                "call_id": call.call_id,
                "ended": True,
                "duration": call.duration_seconds,
                "outcome": call.outcome,
                "lead": call.lead_id,
            }
        )
