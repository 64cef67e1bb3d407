from django.urls import path

from . import views

app_name = "twofactor"

urlpatterns = [
    path("", views.twofactor_setup_view, name="setup"),
    path("verify/", views.twofactor_verify_view, name="verify"),
    path("remove/", views.twofactor_remove_view, name="remove"),
]
