from django.urls import path

from .api import PrivacyEraseView, PrivacyExportView

urlpatterns = [
    path("export", PrivacyExportView.as_view(), name="privacy-export"),
    path("erase", PrivacyEraseView.as_view(), name="privacy-erase"),
]
