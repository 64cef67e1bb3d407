from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django_countries.serializer_fields import CountryField
from rest_framework import serializers

from leads.api.serializers import InteractionSerializer
from leads.common.normalize import normalize_email, normalize_phone
from leads.common.validation import validate_attributes

from ..models import Customer
from ..services import ACTION_INVALID, CUSTOMER_REQUIRED


class CustomerSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    country = CountryField(required=False, allow_blank=True)
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    converted_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Username; null when not converted by a user."
    )
    attributes = serializers.JSONField(required=False)
    leads = serializers.SerializerMethodField(help_text="Ids of every lead linked to this customer.")
    url = serializers.HyperlinkedIdentityField(view_name="api:customer-detail")

    class Meta:
        model = Customer
        fields = [
            "id",
            "url",
            "name",
            "company",
            "email",
            "phone",
            "domain",
            "job_title",
            "website",
            "country",
            "city",
            "industry",
            "attributes",
            "owner",
            "lead",
            "leads",
            "converted_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "lead", "leads", "converted_by", "created_at", "updated_at"]

    def get_leads(self, customer: Customer) -> list[int]:
        linked = getattr(customer, "linked_leads", None)
        ids = [lead.pk for lead in linked] if linked is not None else list(customer.leads.values_list("pk", flat=True))
        if customer.lead_id and customer.lead_id not in ids:
            ids.insert(0, customer.lead_id)
        return ids

    def validate_email(self, value: str) -> str:
        return normalize_email(value)

    def validate_phone(self, value: str) -> str:
        try:
            return normalize_phone(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_attributes(self, value):

        try:
            return validate_attributes(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


class ConversionRequestSerializer(serializers.Serializer):
    """POST /api/v1/leads/{id}/convert: create a new customer, or link to an existing one."""

    action = serializers.ChoiceField(
        choices=["create", "link"],
        required=False,
        error_messages={"invalid_choice": ACTION_INVALID},
        help_text="Omit to let the server decide: 409 with the matches when a customer matches.",
    )
    customer = serializers.IntegerField(required=False, min_value=1, help_text="The customer to link to (action link).")

    def validate(self, attrs: dict) -> dict:
        if attrs.get("action") == "link" and not attrs.get("customer"):
            raise serializers.ValidationError({"customer": [CUSTOMER_REQUIRED]})
        return attrs


class CustomerMatchSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Username, or null."
    )

    class Meta:
        model = Customer
        fields = ["id", "name", "company", "email", "domain", "owner"]
        read_only_fields = fields


class ConversionConflictSerializer(serializers.Serializer):
    """The 409 body: customers match the lead; send action create or link (with customer)."""

    detail = serializers.CharField()
    matches = CustomerMatchSerializer(many=True)


class ConversionResponseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["created", "linked", "already"])
    lead = serializers.IntegerField()
    customer = CustomerSerializer()


class CustomerInteractionSerializer(InteractionSerializer):
    """A timeline entry of one of the customer's leads (with the lead it belongs to)."""

    class Meta(InteractionSerializer.Meta):
        fields = ["id", "lead", *InteractionSerializer.Meta.fields[1:]]
        read_only_fields = fields
