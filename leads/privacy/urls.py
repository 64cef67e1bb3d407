from django.urls import path

from . import views

app_name = "privacy"
urlpatterns = [
    path("leads/<int:pk>/export", views.lead_export_view, name="export"),
    path("leads/<int:pk>/erase", views.lead_erase_view, name="erase"),
    path("leads/<int:pk>/consents", views.lead_consents_view, name="consents"),
    path("leads/<int:pk>/consents/<str:consent_id>/withdraw", views.consent_withdraw_view, name="consent_withdraw"),
]
