"""Who may export and erase (managers), the typed confirmation, hostile input (4xx, never 500),
and the OpenAPI schema."""

import io
import json
import zipfile

import pytest
from django.urls import reverse

from leads.models import ErasureTombstone, Lead, PrivacyRequest
from leads.privacy.api import SUBJECT_ONE_OF, SUBJECT_REQUIRED
from leads.privacy.views import ERASE_CONFIRM_MISMATCH
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/privacy/export"
ERASE = "/api/v1/privacy/erase"


@pytest.fixture
def lead(rep):
    return LeadFactory(email="pat@person.example", first_name="Pat", owner=rep)


def test_managers_export_by_address_or_lead(lead, manager, api_as):
    for query in ({"email": "PAT@person.example"}, {"lead": lead.pk}):
        response = api_as(manager).get(EXPORT, query)
        assert response.status_code == 200 and response["Content-Type"] == "application/zip"
        assert "pat@person.example" not in response["Content-Disposition"]
        archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
        assert json.loads(archive.read("leads.json"))[0]["id"] == lead.pk


def test_managers_erase_through_the_api(lead, manager, api_as):
    response = api_as(manager).post(ERASE, {"lead": lead.pk}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["counts"]["leads"] == 1 and ErasureTombstone.objects.get().digest == body["tombstone"]
    assert not Lead.objects.filter(pk=lead.pk).exists()


@pytest.mark.parametrize("role", ["rep", "marketer"])
def test_reps_and_marketers_are_refused(lead, request, api_as, client, role):
    user = request.getfixturevalue(role)
    api = api_as(user)
    assert api.get(EXPORT, {"lead": lead.pk}).status_code == 403
    assert api.post(ERASE, {"lead": lead.pk}, format="json").status_code == 403
    client.force_login(user)
    assert client.get(reverse("privacy:export", args=[lead.pk])).status_code == 403
    assert client.post(reverse("privacy:erase", args=[lead.pk]), {"confirm": lead.email}).status_code == 403
    assert Lead.objects.filter(pk=lead.pk).exists() and not PrivacyRequest.objects.exists()


def test_without_credentials_401(lead):
    from rest_framework.test import APIClient

    assert APIClient().get(EXPORT, {"lead": lead.pk}).status_code == 401
    assert APIClient().post(ERASE, {"lead": lead.pk}, format="json").status_code == 401


@pytest.mark.parametrize(
    "query, status",
    [
        ({}, 400),
        ({"email": "not-an-address"}, 400),
        ({"email": "a\x00@b.example"}, 400),
        ({"lead": "abc"}, 400),
        ({"lead": "0"}, 400),
        ({"lead": "99999999999999999999999"}, 400),
        ({"lead": "1e3"}, 400),
        ({"email": "pat@person.example", "lead": "1"}, 400),
        ({"email": "x" * 300 + "@a.example"}, 400),
        ({"lead": "987654321"}, 404),
        ({"email": "nobody@nowhere.example"}, 404),
    ],
)
def test_hostile_export_queries_are_4xx(lead, manager, api_as, query, status):
    assert api_as(manager).get(EXPORT, query).status_code == status


def test_hostile_erase_bodies_are_4xx(lead, manager, api_as):
    api = api_as(manager)
    assert api.post(ERASE, {}, format="json").json() == {"email": [SUBJECT_REQUIRED]}
    assert api.post(ERASE, {"email": lead.email, "lead": lead.pk}, format="json").json() == {"lead": [SUBJECT_ONE_OF]}
    assert api.post(ERASE, [1, 2], format="json").status_code == 400
    assert api.post(ERASE, "{not json", content_type="application/json").status_code == 400
    assert api.post(ERASE, {"lead": {"$gt": 0}}, format="json").status_code == 400
    assert api.post(ERASE, {"email": ["a@b.example"]}, format="json").status_code == 400
    assert api.get(ERASE).status_code == 405
    assert Lead.objects.filter(pk=lead.pk).exists() and not ErasureTombstone.objects.exists()


def test_the_erase_page_wants_the_address_typed(lead, manager, client):
    client.force_login(manager)
    url = reverse("privacy:erase", args=[lead.pk])
    page = client.get(url)
    assert page.status_code == 200 and lead.email in page.content.decode()
    wrong = client.post(url, {"confirm": "pat@person.exampl"})
    assert wrong.status_code == 400 and ERASE_CONFIRM_MISMATCH in wrong.content.decode()
    assert client.post(url, {}).status_code == 400
    assert Lead.objects.filter(pk=lead.pk).exists()
    done = client.post(url, {"confirm": " PAT@person.example "})
    assert done.status_code == 302 and done["Location"] == reverse("leads:list")
    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert PrivacyRequest.objects.get(action="erase").via == "page"


def test_a_lead_without_address_is_confirmed_with_the_word(manager, client):
    lead = LeadFactory(email="", phone="+442079460999")
    client.force_login(manager)
    assert client.post(reverse("privacy:erase", args=[lead.pk]), {"confirm": "erase"}).status_code == 302
    assert not Lead.objects.filter(pk=lead.pk).exists() and not ErasureTombstone.objects.exists()


def test_the_page_download_is_a_streamed_zip(lead, manager, client):
    client.force_login(manager)
    response = client.get(reverse("privacy:export", args=[lead.pk]))
    assert response.status_code == 200 and response.streaming and response["Cache-Control"] == "no-store"
    assert zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).testzip() is None


def test_pages_for_a_lead_out_of_reach_are_404(manager, client):
    client.force_login(manager)
    for name in ("export", "erase", "consents"):
        assert client.get(f"/privacy/leads/987654321/{name}").status_code == 404
        assert client.get(f"/privacy/leads/99999999999999999999999/{name}").status_code == 404


def test_the_lead_page_shows_the_buttons_to_managers_only(lead, manager, rep, client):
    client.force_login(manager)
    page = client.get(lead.get_absolute_url()).content.decode()
    assert 'data-testid="privacy-export"' in page and 'data-testid="privacy-erase"' in page
    client.force_login(rep)
    page = client.get(lead.get_absolute_url()).content.decode()
    assert 'data-testid="privacy"' in page and "privacy-erase" not in page and "privacy-export" not in page


def test_the_schema_documents_both_endpoints(manager, api_as):
    schema = api_as(manager).get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    export = schema["paths"]["/api/v1/privacy/export"]["get"]
    assert "application/zip" in export["responses"]["200"]["content"]
    assert {p["name"] for p in export["parameters"]} >= {"email", "lead"}
    assert {"400", "401", "403", "404"} <= set(export["responses"])
    erase = schema["paths"]["/api/v1/privacy/erase"]["post"]
    assert {"200", "400", "403"} <= set(erase["responses"])
