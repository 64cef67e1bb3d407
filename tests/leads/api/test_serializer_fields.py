"""LeadSerializer builds its fields once per process and copies them per serializer
(leads.api.serializers.LeadSerializer.get_fields): no state may leak from one request to the next."""

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from leads.api.serializers import LeadSerializer
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_each_serializer_binds_its_own_fields_and_the_prototypes_stay_unbound():
    first, second = LeadSerializer(), LeadSerializer()
    for name, field in first.fields.items():
        assert field is not second.fields[name]
        assert field.parent is first and second.fields[name].parent is second
    for field in LeadSerializer._fields_built.values():
        assert getattr(field, "parent", None) is None and getattr(field, "field_name", None) is None


def test_validation_leaves_the_shared_validators_as_they_were():
    counts = {name: len(field.validators) for name, field in LeadSerializer._fields_built.items()}
    for email in ("a@example.com", "not an email", "b@example.com"):
        LeadSerializer(data={"email": email, "first_name": "x" * 200}).is_valid()
    assert {name: len(field.validators) for name, field in LeadSerializer._fields_built.items()} == counts


def test_two_hosts_get_their_own_lead_urls(api_as, manager):
    lead = LeadFactory()
    client = api_as(manager)
    one = client.get(f"/api/v1/leads/{lead.pk}", HTTP_HOST="one.example").json()["url"]
    two = client.get(f"/api/v1/leads/{lead.pk}", HTTP_HOST="two.example").json()["url"]
    listed = client.get("/api/v1/leads", HTTP_HOST="three.example").json()["results"][0]["url"]
    assert one == f"http://one.example/api/v1/leads/{lead.pk}"
    assert two == f"http://two.example/api/v1/leads/{lead.pk}"
    assert listed == f"http://three.example/api/v1/leads/{lead.pk}"


def test_a_serializer_for_one_request_keeps_that_requests_url():
    lead = LeadFactory()
    factory = APIRequestFactory()
    first = LeadSerializer(lead, context={"request": Request(factory.get("/", HTTP_HOST="a.example"))})
    second = LeadSerializer(lead, context={"request": Request(factory.get("/", HTTP_HOST="b.example"))})
    assert first.data["url"].startswith("http://a.example/")
    assert second.data["url"].startswith("http://b.example/")
    assert first.data["url"].startswith("http://a.example/")
