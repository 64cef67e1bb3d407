from django.contrib.auth.models import User
from rest_framework import serializers

from leads.normalize import normalize_email, normalize_phone

from ..models import Customer


class CustomerSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    url = serializers.HyperlinkedIdentityField(view_name="api:customer-detail")

    class Meta:
        model = Customer
        fields = ["id", "url", "name", "company", "email", "phone", "owner", "lead", "created_at", "updated_at"]
        read_only_fields = ["id", "lead", "created_at", "updated_at"]

    def validate_email(self, value: str) -> str:
        return normalize_email(value)

    def validate_phone(self, value: str) -> str:
        try:
            return normalize_phone(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
