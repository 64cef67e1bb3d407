"""Everything under /api/v1/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from leads.api.calls import CallEndView, CallInboundView
from leads.api.capture import CaptureView
from leads.api.email import EmailCaptureView
from leads.api.views import ObtainTokenView
from leads.api.webhooks import WebhookCaptureView

app_name = "api"

urlpatterns = [
    path("auth/token", ObtainTokenView.as_view(), name="auth-token"),
    path("capture", CaptureView.as_view(), name="capture"),
    path("capture/email", EmailCaptureView.as_view(), name="capture-email"),
    path("capture/webhook/<str:key>", WebhookCaptureView.as_view(), name="capture-webhook"),
    path("calls/inbound", CallInboundView.as_view(), name="call-inbound"),
    path("calls/<str:call_id>/end", CallEndView.as_view(), name="call-end"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("privacy/", include("leads.privacy.api_urls")),
    path("", include("leads.api.urls")),
    path("", include("leads.api.outbound_urls")),
    path("", include("customers.api.urls")),
]
