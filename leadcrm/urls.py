from django.contrib import admin
from django.urls import include, path

from customers.search_views import search_view
from leadcrm.errors import favicon_view
from leadcrm.health import full_view, ready_view
from leads.views import email_tracking
from leads.views import rep_email as rep_email_views
from leads.views.forms_builder import form_beacon_view, form_schema_json_view
from leads.views.public import web_form_view
from leads.views.tracking import tracking_collect_view, tracking_pixel_view

handler500 = "leadcrm.errors.server_error"

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page says; base.html links the same icon.
    path("favicon.ico", favicon_view),
    path("health/", full_view, name="health"),
    path("health/ready", ready_view, name="health_ready"),
    path("admin/", admin.site.urls),
    path("accounts/2fa/", include("leadcrm.twofactor.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("leadcrm.api_urls")),
    path("f/<slug:key>", web_form_view, name="web_form"),
    path("f/<slug:key>/schema.json", form_schema_json_view, name="forms_schema"),
    path("f/<slug:key>/beacon", form_beacon_view, name="forms_beacon"),
    path("t/<slug:key>/collect", tracking_collect_view, name="tracking_collect"),
    path("t/<slug:key>/pixel.gif", tracking_pixel_view, name="tracking_pixel"),
    path("e/o/<str:token>.gif", email_tracking.email_open_view, name="nurture_open"),
    path("e/c/<str:token>", email_tracking.email_click_view, name="nurture_click"),
    path("e/u/<str:token>", email_tracking.email_unsubscribe_view, name="nurture_unsubscribe"),
    path("e/r/o/<str:token>.gif", rep_email_views.open_view, name="rep_email_open"),
    path("e/r/c/<str:token>", rep_email_views.click_view, name="rep_email_click"),
    path("telephony/", include("leads.telephony.urls")),  # Twilio's signed voice webhooks
    path("search/", search_view, name="search"),
    path("customers/", include("customers.urls")),
    path("privacy/", include("leads.privacy.urls")),
    path("", include("customers.lead_urls")),
    path("", include("leads.urls")),
]
