from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("leadcrm.api_urls")),
    path("customers/", include("customers.urls")),
    path("", include("leads.urls")),
]
