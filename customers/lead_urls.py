"""Conversion's pages under /leads/ (the lead page's Convert and the list's bulk convert), mounted
before leads.urls by the project's urls: the paths are the lead's, the code is customers'."""

from django.urls import path

from . import lead_page

app_name = "conversion"
urlpatterns = [
    path("leads/<int:pk>/convert", lead_page.lead_convert_view, name="convert"),
    path("leads/convert", lead_page.lead_bulk_convert_view, name="bulk_convert"),
]
