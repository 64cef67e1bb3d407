"""REST API v1 for leads. Views are thin: selectors read, services write."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from leadcrm.twofactor.service import twofactor_check, twofactor_enrolled, twofactor_required

from ..capture.typed import lead_create
from ..common.http import client_ip
from ..filters import LeadFilter
from ..models import Interaction
from ..roles import is_manager
from ..scoring.service import score_explain
from ..selectors import lead_interactions, lead_list, visible_to
from ..services import DuplicateLeadError, lead_update
from .filtering import SelectorFilterBackend
from .keyset import LeadCursorPagination, sort_key_of
from .permissions import LeadAccess
from .serializers import (
    DuplicateLeadSerializer,
    InteractionSerializer,
    LeadSerializer,
    ScoreExplanationSerializer,
    page_values,
)

OTP_TOKEN_WRONG = "Two-factor authentication is on for this user: send the current code from the app as otp_token."
OTP_SET_UP_FIRST = "Managers must set up two-factor authentication in the browser before asking for an API token."


def duplicate_response(exc: DuplicateLeadError) -> Response:
    return Response(
        {"detail": exc.message, "field": exc.field, exc.field: [exc.message], "existing_lead": exc.existing_id},
        status=status.HTTP_409_CONFLICT,
    )


class LeadViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Leads the caller may see. Filters: status, source, search, owner, unassigned,
    score_min/max, created_after/before, ordering, page_size (max 500)."""

    serializer_class = LeadSerializer
    permission_classes = [LeadAccess]
    filter_backends = [SelectorFilterBackend]
    filterset_class = LeadFilter
    pagination_class = LeadCursorPagination

    def get_queryset(self):
        if self.action == "list":
            try:
                return lead_list(user=self.request.user, filters=self.request.query_params)
            except DjangoValidationError as exc:
                raise ValidationError(exc.message_dict) from exc
        return visible_to(self.request.user).select_related("owner", "team")

    def page_rows(self, queryset):
        """What a keyset page of the list reads its rows as (LeadCursorPagination): named tuples
        of the serializer's columns, not model instances; other actions read models."""
        if self.action != "list":
            return queryset
        key = sort_key_of(queryset)  # (its column's value makes the page's cursors)
        return page_values(queryset, raw=(key.field,) if key else ())

    @extend_schema(
        responses={
            201: LeadSerializer,
            400: OpenApiResponse(description="Per-field errors"),
            409: DuplicateLeadSerializer,
        }
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "owner" not in data and not is_manager(request.user):
            data["owner"] = request.user  # a rep's new lead is theirs, so they can see it
        try:
            lead = lead_create(data=data, by=request.user)
        except DuplicateLeadError as exc:
            return duplicate_response(exc)
        return Response(self.get_serializer(lead).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            200: LeadSerializer,
            400: OpenApiResponse(description="Per-field errors"),
            409: DuplicateLeadSerializer,
        }
    )
    def update(self, request, *args, **kwargs):
        lead = self.get_object()
        serializer = self.get_serializer(lead, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        try:
            lead = lead_update(lead=lead, data=dict(serializer.validated_data), by=request.user)
        except DuplicateLeadError as exc:
            return duplicate_response(exc)
        return Response(self.get_serializer(lead).data)

    @extend_schema(responses=ScoreExplanationSerializer, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], filterset_class=None)
    def score(self, request, pk=None):
        """Why the lead has its score: the rules that fired, the model's strongest features, and
        contributions that add up to the score."""
        return Response(score_explain(lead=self.get_object()))

    @extend_schema(
        responses=InteractionSerializer(many=True),
        filters=False,
        parameters=[
            OpenApiParameter("kind", str, enum=Interaction.Kind.values, description="Only this kind of entry.")
        ],
    )
    @action(detail=True, methods=["get"], filter_backends=[], filterset_class=None)
    def interactions(self, request, pk=None):
        """The lead's timeline, newest first (`?kind=` to show one kind)."""
        lead = self.get_object()
        timeline = lead_interactions(lead=lead)
        kind = request.query_params.get("kind")
        if kind:
            if kind not in Interaction.Kind.values:
                raise ValidationError({"kind": [f'"{kind[:50]}" is not a kind of timeline entry.']})
            timeline = timeline.filter(kind=kind)
        page = self.paginate_queryset(timeline)
        return self.get_paginated_response(InteractionSerializer(page, many=True).data)


class ClientIPScopedRateThrottle(ScopedRateThrottle):
    """ScopedRateThrottle keyed on client_ip: DRF's own key trusts any X-Forwarded-For, so 40
    guesses with a rotating header all went through."""

    def get_ident(self, request) -> str:
        return client_ip(request)


@extend_schema(
    responses={
        200: OpenApiResponse(description='{"token": "..."}'),
        400: OpenApiResponse(description="Wrong credentials"),
        429: OpenApiResponse(description="Too many attempts from this address, or this username is locked out"),
    },
    auth=[],
)
class ObtainTokenView(ObtainAuthToken):
    """Exchange a username and password (and, with two-factor on, `otp_token`) for an API token (rate-limited)."""

    throttle_classes = [ClientIPScopedRateThrottle]
    throttle_scope = "auth_token"

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        if twofactor_required(user=user):
            if not twofactor_enrolled(user=user):
                return Response({"otp_token": [OTP_SET_UP_FIRST]}, status=status.HTTP_403_FORBIDDEN)
            code = request.data.get("otp_token") if hasattr(request.data, "get") else None
            if not isinstance(code, str) or twofactor_check(user=user, token=code) is None:
                return Response({"otp_token": [OTP_TOKEN_WRONG]}, status=status.HTTP_400_BAD_REQUEST)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
