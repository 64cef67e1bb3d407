"""Reads for the webhooks page and API: subscriptions with their delivery counts, the delivery log."""

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from ..models import WebhookDelivery, WebhookSubscription


def subscription_list() -> QuerySet[WebhookSubscription]:
    """Every subscription with its pending and failed counts and its last delivery's time, in one query."""
    last = WebhookDelivery.objects.filter(subscription_id=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        WebhookSubscription.objects.select_related("created_by")
        .annotate(
            pending_count=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING)),
            failed_count=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)),
            last_delivery_at=Subquery(last.values("created_at")[:1]),
            last_delivery_status=Subquery(last.values("status")[:1]),
        )
        .order_by("-created_at", "-id")
    )


def delivery_log(*, subscription_id: int) -> QuerySet[WebhookDelivery]:
    """A subscription's deliveries, newest first (paginate it)."""
    return (
        WebhookDelivery.objects.filter(subscription_id=subscription_id).defer("payload").order_by("-created_at", "-id")
    )
