from django.urls import path

from . import views

app_name = "telephony"
urlpatterns = [
    path("twilio/voice", views.twilio_voice_view, name="twilio_voice"),
    path("twilio/dial", views.twilio_dial_view, name="twilio_dial"),
    path("twilio/status", views.twilio_status_view, name="twilio_status"),
]
