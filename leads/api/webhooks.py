"""POST /api/v1/capture/webhook/<key>: signed JSON from chat, ads, webinar and other tools."""
from django.conf import settings
from django_ratelimit.core import is_ratelimited
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..capture.service import CaptureContext, capture_reject
from ..capture.webhooks import (
    RATE_LIMITED,
    SIGNATURE_HEADER,
    UNKNOWN_SOURCE,
    WebhookRejected,
    webhook_lead_channel,
    webhook_parse,
    webhook_preview,
    webhook_receive,
    webhook_verify,
)
from ..http import client_ip
from ..models import WebhookSource


class WebhookResultSerializer(serializers.Serializer):
    lead = serializers.IntegerField(allow_null=True)
    created = serializers.BooleanField(required=False)
    status = serializers.CharField(required=False, help_text='"duplicate" for a replayed event id.')


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(description=f'{description}: {{"detail": "..."}}')


class WebhookCaptureView(APIView):
    # No session or token: the HMAC of the raw body is the authentication, so there is no
    # CSRF to check either (DRF exempts views without SessionAuthentication).
    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="capture_webhook",
        summary="Capture a lead from a signed webhook",
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                description="sha256=<hex HMAC-SHA256 of the raw body, keyed with the source's secret>",
            ),
        ],
        responses={
            201: WebhookResultSerializer, 200: WebhookResultSerializer,
            400: _error("Not a JSON object, NUL characters or invalid UTF-8"), 401: _error("Signature missing"),
            403: _error("Signature wrong"), 404: _error("Unknown or inactive source key"),
            413: _error("Body too large"),
            429: _error("Rate limit of the source (signed posts), or of unsigned attempts from this address"),
        },
        auth=[],
    )
    def post(self, request, key: str):
        """Map the JSON to a lead through the source's mapping; a replayed event id is ignored."""
        http = request._request  # the raw body is what was signed: never let a parser touch it first
        body = http.body
        source = WebhookSource.objects.filter(key=key, is_active=True).first()
        context = CaptureContext(
            channel=webhook_lead_channel(source=source),
            source_detail=source.name if source else f"unknown webhook key {key[:60]}",
            ip=client_ip(http) or None, user_agent=request.headers.get("User-Agent", ""),
        )
        signed = False
        try:
            if source is None:
                raise WebhookRejected(UNKNOWN_SOURCE, status=404)
            # The signature first: unsigned or wrongly signed posts are counted apart (per source and
            # address), so nobody who merely knows the URL can use up the real sender's limit.
            try:
                webhook_verify(source=source, body=body, signature=request.headers.get(SIGNATURE_HEADER))
            except WebhookRejected:
                if is_ratelimited(
                    http, group=f"webhook-unsigned:{source.key}", key="ip", rate=settings.WEBHOOK_UNSIGNED_RATE,
                    increment=True,
                ):
                    # Over the limit nothing is written at all: a flood must not fill the capture log.
                    return Response({"detail": RATE_LIMITED}, status=429)
                raise
            signed = True
            if is_ratelimited(
                http, group=f"webhook:{source.key}", key=lambda group, request: group, rate=settings.WEBHOOK_RATE,
                increment=True,
            ):
                raise WebhookRejected(RATE_LIMITED, status=429)
            payload = webhook_parse(body=body)
        except WebhookRejected as exc:
            # Only a signed body is kept: an unsigned one is anybody's; its size is enough to investigate.
            context.payload = webhook_preview(body=body) if signed else {"unsigned_bytes": len(body)}
            capture_reject(context=context, reason=f"{exc.status}: {exc.message}")
            headers = {"WWW-Authenticate": f'HMAC-SHA256 header="{SIGNATURE_HEADER}"'} if exc.status == 401 else None
            return Response({"detail": exc.message}, status=exc.status, headers=headers)
        context.payload = payload
        outcome = webhook_receive(source=source, payload=payload, context=context)
        if outcome.duplicate:
            return Response({"status": "duplicate", "lead": outcome.lead.pk if outcome.lead else None}, status=200)
        return Response({"lead": outcome.lead.pk, "created": outcome.created}, status=201 if outcome.created else 200)
