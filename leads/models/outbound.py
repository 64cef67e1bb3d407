"""Outbound webhooks: managers' subscriptions, the delivery outbox, and each lead's event counter."""

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone


class WebhookSubscription(models.Model):
    """A URL that hears the spine's events it asked for, signed with its own secret."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="Event names from leads.events.Name.")
    # Standard Webhooks secret ("whsec_" + base64): kept in clear because every delivery is signed
    # with it; shown to the manager once, when it is made.
    secret = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One event for one subscription: the outbox row, written in the event's transaction, and
    then the delivery log (attempts, the last response)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    # No database constraint: an event recorded while its subscription is being deleted elsewhere
    # must not fail the lead's own transaction; the sender drops rows whose subscription is gone.
    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
    )
    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField(max_length=50)
    lead_id = models.BigIntegerField(null=True, blank=True)
    sequence = models.BigIntegerField(default=0, help_text="The lead's event number (grows with every event).")
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="A sender holds the row until then.")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=1000, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["subscription", "-created_at", "-id"], name="webhook_delivery_log_idx"),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
            # The nightly purge of old finished rows (OUTBOUND_WEBHOOK_RETENTION_DAYS).
            models.Index(fields=["created_at"], condition=~Q(status="pending"), name="webhook_delivery_done_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivered", "failed"]),
                name="webhook_delivery_status_valid",
            ),
        ]

    @property
    def webhook_id(self) -> str:
        """The webhook-id header: the same on every attempt, so receivers can drop repeats."""
        return f"msg_{self.message_id.hex}"


class LeadEventSequence(models.Model):
    """The last event number given to a lead's webhook payloads (bumped by one upsert per event)."""

    lead_id = models.BigIntegerField(primary_key=True)
    last = models.BigIntegerField(default=0)
