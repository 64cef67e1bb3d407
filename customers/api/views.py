"""REST API v1 for customers."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.filtering import SelectorFilterBackend
from leads.api.permissions import LeadAccess
from leads.roles import is_manager
from leads.selectors import visible_to

from ..filters import CustomerFilter
from ..models import Customer
from ..selectors import customer_list, customer_timeline, customer_visible_to, linked_leads_prefetch
from ..services import CONVERT_FORBIDDEN, Outcome, lead_convert
from .serializers import (
    ConversionConflictSerializer,
    ConversionRequestSerializer,
    ConversionResponseSerializer,
    CustomerInteractionSerializer,
    CustomerMatchSerializer,
    CustomerSerializer,
)

MATCHES_FOUND = "Customers match this lead: send action create, or link with one of them as customer."


class CustomerAccess(LeadAccess):
    """Everyone with a role reads; only managers write (conversion creates customers)."""

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return super().has_permission(request, view)
        return is_manager(request.user)


class CustomerViewSet(viewsets.ModelViewSet):
    """Customers the caller may see. Filters: search, owner, country, industry, domain,
    created_after/before, ordering (created_at, name, updated_at)."""

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
        return (
            customer_visible_to(self.request.user)
            .select_related("owner", "lead", "converted_by")
            .prefetch_related(linked_leads_prefetch())
        )

    @extend_schema(responses=CustomerInteractionSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], filterset_class=None)
    def interactions(self, request, pk=None):
        """The merged timeline of every lead linked to this customer, newest first."""
        customer = self.get_object()
        page = self.paginate_queryset(customer_timeline(customer=customer))
        return self.get_paginated_response(CustomerInteractionSerializer(page, many=True).data)


class LeadConvertView(APIView):
    """POST /api/v1/leads/{id}/convert. It lives with customers because conversion is theirs:
    customers depend on leads, never the reverse."""

    permission_classes = [LeadAccess]

    @extend_schema(
        request=ConversionRequestSerializer,
        responses={
            201: ConversionResponseSerializer,
            200: ConversionResponseSerializer,
            400: OpenApiResponse(description="Per-field errors"),
            403: OpenApiResponse(description="Not the lead's owner or a manager; marketers never convert"),
            404: OpenApiResponse(description="No such lead visible to you"),
            409: ConversionConflictSerializer,
        },
        operation_id="leads_convert_create",
    )
    def post(self, request, id: int):
        """Convert the lead into a customer: 201 with a new customer, 200 when linked (or converted
        before), 409 with the matching customers when a choice (create or link) is needed."""
        return lead_convert_response(request, get_object_or_404(visible_to(request.user), pk=id))


def lead_convert_response(request, lead) -> Response:
    """POST /api/v1/leads/{id}/convert, for LeadViewSet.convert (the lead is visible to the caller)."""
    body = ConversionRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        result = lead_convert(
            lead=lead,
            by=request.user,
            action=body.validated_data.get("action", "auto"),
            customer=body.validated_data.get("customer"),
        )
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc) or CONVERT_FORBIDDEN) from exc
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    if result.outcome == Outcome.NEEDS_CHOICE:
        return Response(
            {"detail": MATCHES_FOUND, "matches": CustomerMatchSerializer(result.matches, many=True).data},
            status=status.HTTP_409_CONFLICT,
        )
    customer = (
        Customer.objects.select_related("owner", "lead", "converted_by")
        .prefetch_related(linked_leads_prefetch())
        .get(pk=result.customer.pk)
    )
    return Response(
        {
            "outcome": result.outcome,
            "lead": lead.pk,
            "customer": CustomerSerializer(customer, context={"request": request}).data,
        },
        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
    )
