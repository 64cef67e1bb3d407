from django.contrib import admin
from django.urls import include, path

from leads.views.public import web_form_view
from leads.views.tracking import tracking_collect_view, tracking_pixel_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("leadcrm.api_urls")),
    path("f/<slug:key>", web_form_view, name="web_form"),
    path("t/<slug:key>/collect", tracking_collect_view, name="tracking_collect"),
    path("t/<slug:key>/pixel.gif", tracking_pixel_view, name="tracking_pixel"),
    path("customers/", include("customers.urls")),
    path("", include("leads.urls")),
]
