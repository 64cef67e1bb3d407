from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import CustomerViewSet, LeadConvertView

router = SimpleRouter(trailing_slash=False)
router.register("customers", CustomerViewSet, basename="customer")
urlpatterns = [
    path("leads/<int:id>/convert", LeadConvertView.as_view(), name="lead-convert"),
    *router.urls,
]
