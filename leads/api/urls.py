from rest_framework.routers import SimpleRouter

from .views import LeadViewSet

router = SimpleRouter(trailing_slash=False)
router.trailing_slash = "/?"  # /api/v1/leads and /api/v1/leads/ both answer, with no redirect
router.register("leads", LeadViewSet, basename="lead")
urlpatterns = router.urls
