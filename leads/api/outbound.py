"""REST API for outbound webhooks (managers only): subscriptions, their delivery log, resend,
and the list of events with the payload every delivery carries."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Lead, WebhookDelivery, WebhookSubscription
from ..outbound import delivery, selectors
from ..outbound import subscriptions as services
from ..outbound.payloads import EVENT_CHOICES, EVENT_DESCRIPTIONS
from ..roles import is_manager


class ManagersOnly(BasePermission):
    """Subscriptions send lead data out of the CRM: managers only."""

    message = "Only sales managers manage webhooks."

    def has_permission(self, request, view) -> bool:
        return is_manager(request.user)


class SubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES), allow_empty=False)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    pending_count = serializers.IntegerField(read_only=True, default=0)
    failed_count = serializers.IntegerField(read_only=True, default=0)
    last_delivery_at = serializers.DateTimeField(read_only=True, allow_null=True, default=None)
    last_delivery_status = serializers.CharField(read_only=True, allow_null=True, default=None)

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "description",
            "events",
            "is_active",
            "disabled_reason",
            "created_by",
            "created_at",
            "updated_at",
            "pending_count",
            "failed_count",
            "last_delivery_at",
            "last_delivery_status",
        ]
        read_only_fields = ["disabled_reason", "created_at", "updated_at"]


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once: keep it to verify signatures.")

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.CharField(read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "webhook_id",
            "event_type",
            "lead_id",
            "sequence",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "delivered_at",
            "response_status",
            "response_excerpt",
            "error",
            "created_at",
        ]
        read_only_fields = fields


class PayloadLeadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.EmailField()
    phone = serializers.CharField()
    company = serializers.CharField()
    job_title = serializers.CharField()
    status = serializers.CharField(help_text="One of the lead statuses: " + ", ".join(Lead.Status.values) + ".")
    score = serializers.IntegerField()
    grade = serializers.CharField()
    source = serializers.CharField()
    owner = serializers.CharField(allow_null=True, help_text="The owner's username.")
    team = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class PayloadDataSerializer(serializers.Serializer):
    lead = PayloadLeadSerializer(allow_null=True, help_text="The lead's public fields when the event was recorded.")
    sequence = serializers.IntegerField(help_text="The lead's event number: larger is later, for ordering.")
    kind = serializers.CharField(help_text="The timeline entry's kind.")
    actor = serializers.CharField(allow_null=True, help_text="Who did it (username), if a person.")
    event = serializers.DictField(help_text="The event's own data (see each event's description).")


class WebhookPayloadSerializer(serializers.Serializer):
    """The JSON body of every delivery (Standard Webhooks: type, timestamp, data)."""

    type = serializers.ChoiceField(choices=EVENT_CHOICES)
    timestamp = serializers.DateTimeField()
    data = PayloadDataSerializer()


class EventSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=EVENT_CHOICES)
    description = serializers.CharField()
    payload = WebhookPayloadSerializer(help_text="The shape of the body (an empty example here).", required=False)


def _validated(call):
    try:
        return call()
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


@extend_schema(tags=["webhooks"])
class SubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Outbound webhook subscriptions. The secret is returned once, by create and rotate-secret."""

    serializer_class = SubscriptionSerializer
    permission_classes = [ManagersOnly]

    def get_queryset(self):
        return selectors.subscription_list()

    @extend_schema(responses={201: SubscriptionCreatedSerializer, 400: OpenApiResponse(description="Per-field errors")})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = _validated(lambda: services.subscription_create(by=request.user, **serializer.validated_data))
        return Response(SubscriptionCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        subscription = self.get_object()
        serializer.instance = _validated(
            lambda: services.subscription_update(subscription=subscription, **serializer.validated_data)
        )

    @extend_schema(
        request=None, responses={200: inline_serializer("SecretRotated", {"secret": serializers.CharField()})}
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new secret for the subscription (the old one stops working now)."""
        return Response({"secret": services.subscription_rotate_secret(subscription=self.get_object())})

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """The subscription's delivery log, newest first."""
        subscription = self.get_object()
        page = self.paginate_queryset(selectors.delivery_log(subscription_id=subscription.pk))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


@extend_schema(tags=["webhooks"], request=None, responses={202: DeliverySerializer})
class DeliveryResendView(APIView):
    """Send a delivery again (same webhook-id); it is delivered by the worker."""

    permission_classes = [ManagersOnly]

    def post(self, request, pk: int):
        resent = delivery.delivery_resend(delivery=get_object_or_404(WebhookDelivery, pk=pk))
        return Response(DeliverySerializer(resent).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["webhooks"], responses={200: EventSerializer(many=True)})
class EventListView(APIView):
    """The events a subscription can ask for; every delivery's body is a WebhookPayload."""

    permission_classes = [ManagersOnly]

    def get(self, request):
        return Response([{"name": name, "description": text} for name, text in EVENT_DESCRIPTIONS.items()])
