"""The OpenAPI schema describes what the API really answers."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema():
    response = APIClient().get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_fields_that_come_back_null_or_blank_are_declared_so(schema):
    """Broke: actor, converted_by and a customer match's owner came back null, and grade "", where the
    schema promised a username and one of A–D."""
    components = schema["components"]["schemas"]
    assert components["Interaction"]["properties"]["actor"]["nullable"] is True
    assert components["Customer"]["properties"]["converted_by"]["nullable"] is True
    assert components["CustomerMatch"]["properties"]["owner"]["nullable"] is True
    grade = components["Lead"]["properties"]["grade"]
    assert {"$ref": "#/components/schemas/BlankEnum"} in grade["oneOf"]


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/v1/leads", "get", {"400", "401", "403", "404"}),
        ("/api/v1/leads/{id}", "patch", {"400", "401", "403", "404", "409", "413", "415"}),
        ("/api/v1/capture", "post", {"400", "401", "403", "413", "415"}),
        ("/api/v1/capture/webhook/{key}", "post", {"400", "401", "403", "404", "413", "429"}),
        ("/api/v1/auth/token", "post", {"400", "429"}),
        ("/api/v1/calls/{call_id}/end", "post", {"401", "403", "404", "409"}),
    ],
)
def test_error_answers_are_declared_where_they_happen(schema, path, method, codes):
    """Broke: 400, 401, 403, 404, 409, 413 and 429 happened on operations whose schema declared only 200."""
    assert codes <= set(schema["paths"][path][method]["responses"])


def test_the_capture_api_advertises_json_only(schema):
    """Broke: it advertised form and multipart bodies it could not read."""
    assert list(schema["paths"]["/api/v1/capture"]["post"]["requestBody"]["content"]) == ["application/json"]
