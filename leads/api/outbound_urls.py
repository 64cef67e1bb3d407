"""/api/v1/webhooks/…: outbound webhook subscriptions (managers only)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .outbound import DeliveryResendView, EventListView, SubscriptionViewSet

router = SimpleRouter(trailing_slash=False)
router.register("webhooks/subscriptions", SubscriptionViewSet, basename="webhook-subscription")
urlpatterns = [
    path("webhooks/events", EventListView.as_view(), name="webhook-events"),
    path("webhooks/deliveries/<int:pk>/resend", DeliveryResendView.as_view(), name="webhook-delivery-resend"),
    *router.urls,
]
