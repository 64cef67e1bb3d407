"""REST API v1 for customers."""
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError

from leads.api.permissions import LeadAccess
from leads.api.serializers import InteractionSerializer
from leads.api.views import SelectorFilterBackend
from leads.roles import is_manager

from ..filters import CustomerFilter
from ..selectors import customer_list, customer_timeline, customer_visible_to
from .serializers import CustomerSerializer


class CustomerAccess(LeadAccess):
    """Everyone with a role reads; only managers write (conversion creates customers)."""

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return super().has_permission(request, view)
        return is_manager(request.user)


class CustomerViewSet(viewsets.ModelViewSet):
    """Customers the caller may see. Filters: search, owner, created_after/before, ordering."""

    serializer_class = CustomerSerializer
    permission_classes = [CustomerAccess]
    filter_backends = [SelectorFilterBackend]
    filterset_class = CustomerFilter
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self):
        if self.action == "list":
            try:
                return customer_list(user=self.request.user, filters=self.request.query_params)
            except DjangoValidationError as exc:
                raise ValidationError(exc.message_dict) from exc
        return customer_visible_to(self.request.user).select_related("owner", "lead")

    @extend_schema(responses=InteractionSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], filterset_class=None)
    def interactions(self, request, pk=None):
        """The timeline of the lead this customer came from."""
        customer = self.get_object()
        page = self.paginate_queryset(customer_timeline(customer=customer))
        return self.get_paginated_response(InteractionSerializer(page, many=True).data)
