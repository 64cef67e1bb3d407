"""/api/v1/capture/webhook/<key>: chat, ads, webinar, meeting and form tools post here, each signed
the way its provider signs (leads/capture/webhooks/). GET answers Meta's subscription check, HEAD
Intercom's URL check."""

import dataclasses
import time

from django.conf import settings
from django.http import HttpResponse
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
    GRAPH_REFUSED,
    GRAPH_UNAVAILABLE,
    RATE_LIMITED,
    SIGNATURE_HEADER,
    UNKNOWN_SOURCE,
    Answer,
    GraphRefused,
    GraphUnavailable,
    WebhookRejected,
    provider_for,
    webhook_capture_item,
    webhook_lead_channel,
    webhook_preview,
)
from ..common.http import client_ip
from ..models import WebhookSource

# Meta retries a failed delivery for a day and a half; the backfill catches what is left.
GRAPH_RETRY_AFTER = "60"


class WebhookResultSerializer(serializers.Serializer):
    lead = serializers.IntegerField(allow_null=True)
    created = serializers.BooleanField(required=False)
    status = serializers.CharField(
        required=False, help_text='"duplicate" for a replayed event id, "ignored" for an event that makes no lead.'
    )


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(description=f'{description}: {{"detail": "..."}}')


def _answer(answer: Answer) -> HttpResponse:
    if answer.text is not None:
        response = HttpResponse(answer.text, status=answer.status, content_type="text/plain; charset=utf-8")
        response["X-Content-Type-Options"] = "nosniff"
        return response
    return Response(answer.json or {}, status=answer.status)


def _outcome_json(outcome) -> dict:
    if outcome.skipped:
        return {"status": "ignored", "lead": None}
    if outcome.duplicate:
        return {"status": "duplicate", "lead": outcome.lead.pk if outcome.lead else None}
    return {"lead": outcome.lead.pk if outcome.lead else None, "created": outcome.created}


class WebhookCaptureView(APIView):
    # No session or token: the provider's signature of the raw body is the authentication, so there
    # is no CSRF to check either (DRF exempts views without SessionAuthentication).
    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    def _context(self, request, key: str, source: WebhookSource | None) -> CaptureContext:
        return CaptureContext(
            channel=webhook_lead_channel(source=source),
            source_detail=source.name if source else f"unknown webhook key {key[:60]}",
            ip=client_ip(request._request) or None,
            user_agent=request.headers.get("User-Agent", ""),
        )

    def _unsigned_limited(self, http, source: WebhookSource) -> bool:
        # Unsigned or wrongly signed posts are counted apart (per source and address), so nobody who
        # merely knows the URL can use up the real sender's limit.
        return is_ratelimited(
            http,
            group=f"webhook-unsigned:{source.key}",
            key="ip",
            rate=settings.WEBHOOK_UNSIGNED_RATE,
            increment=True,
        )

    @extend_schema(
        operation_id="capture_webhook",
        summary="Capture a lead from a provider-signed webhook",
        request={"application/json": OpenApiTypes.OBJECT, "application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description=(
                    "Generic sources: sha256=<hex HMAC-SHA256 of the raw body, keyed with the source's secret>. "
                    "Provider sources use their tool's own header (Typeform-Signature, x-zm-signature, "
                    "Calendly-Webhook-Signature, X-Hub-Signature, X-Hub-Signature-256, google_key, X-LeadCRM-Token)."
                ),
            ),
        ],
        responses={
            201: WebhookResultSerializer,
            200: WebhookResultSerializer,
            400: _error("Not a JSON object, NUL characters or invalid UTF-8"),
            401: _error("Signature missing"),
            403: _error("Signature wrong, or its timestamp stale"),
            404: _error("Unknown or inactive source key"),
            413: _error("Body too large"),
            429: _error("Rate limit of the source (signed posts), or of unsigned attempts from this address"),
            503: _error("Meta's Graph API did not answer (Meta retries)"),
        },
        auth=[],
    )
    def post(self, request, key: str):
        """Verify the provider's signature, answer a handshake, or map each event to a lead."""
        http = request._request  # the raw body is what was signed: never let a parser touch it first
        body = http.body
        source = WebhookSource.objects.filter(key=key, is_active=True).first()
        context = self._context(request, key, source)
        signed, provider = False, None
        try:
            if source is None:
                raise WebhookRejected(UNKNOWN_SOURCE, status=404)
            provider = provider_for(source)
            try:
                provider.verify(source=source, body=body, headers=request.headers, now=time.time())
            except WebhookRejected:
                if self._unsigned_limited(http, source):
                    # Over the limit nothing is written at all: a flood must not fill the capture log.
                    return Response({"detail": RATE_LIMITED}, status=429)
                raise
            signed = True
            if is_ratelimited(
                http,
                group=f"webhook:{source.key}",
                key=lambda group, request: group,
                rate=settings.WEBHOOK_RATE,
                increment=True,
            ):
                raise WebhookRejected(RATE_LIMITED, status=429)
            payload = provider.parse(body=body, headers=request.headers)
        except WebhookRejected as exc:
            # Only a signed body is kept: an unsigned one is anybody's; its size is enough to investigate.
            context.payload = webhook_preview(body=body) if signed else {"unsigned_bytes": len(body)}
            capture_reject(context=context, reason=f"{exc.status}: {exc.message}")
            headers = dict(exc.headers)
            if exc.status == 401:
                headers["WWW-Authenticate"] = (
                    f'HMAC-SHA256 header="{(provider and provider.signature_header) or SIGNATURE_HEADER}"'
                )
            return Response({"detail": exc.message}, status=exc.status, headers=headers or None)
        handshake = provider.handshake(source=source, payload=payload)
        if handshake is not None:
            return _answer(handshake)
        context.payload = payload
        outcomes = []
        for item in provider.items(source=source, payload=payload):
            item_context = dataclasses.replace(context)
            try:
                outcomes.append(webhook_capture_item(source=source, provider=provider, item=item, context=item_context))
            except GraphUnavailable:
                # Nothing was claimed: Meta's retry (or the backfill) takes this lead later.
                capture_reject(context=item_context, reason=f"503: {GRAPH_UNAVAILABLE}")
                return Response({"detail": GRAPH_UNAVAILABLE}, status=503, headers={"Retry-After": GRAPH_RETRY_AFTER})
            except GraphRefused as exc:
                capture_reject(
                    context=item_context, reason=GRAPH_REFUSED.format(leadgen_id=item.event_id, reason=exc)[:500]
                )
        if len(outcomes) == 1:
            outcome = outcomes[0]
            created = outcome.created and not outcome.duplicate and not outcome.skipped
            return Response(_outcome_json(outcome), status=201 if created else 200)
        return Response({"results": [_outcome_json(outcome) for outcome in outcomes]}, status=200)

    @extend_schema(exclude=True)
    def get(self, request, key: str):
        """Meta's subscription check (hub.mode, hub.verify_token, hub.challenge); 405 for other providers."""
        source = WebhookSource.objects.filter(key=key, is_active=True).first()
        if source is None:
            return Response({"detail": UNKNOWN_SOURCE}, status=404)
        try:
            return _answer(provider_for(source).answer_get(source=source, query=request.query_params))
        except WebhookRejected as exc:
            if exc.status == 403 and self._unsigned_limited(request._request, source):
                return Response({"detail": RATE_LIMITED}, status=429)
            return Response({"detail": exc.message}, status=exc.status)

    @extend_schema(exclude=True)
    def head(self, request, key: str):
        """Intercom checks the URL with a HEAD when it is saved: 200 for an active source."""
        exists = WebhookSource.objects.filter(key=key, is_active=True).exists()
        return HttpResponse(status=200 if exists else 404)
