"""POST /api/v1/capture: the generic way in. One lead per person, nothing lost, clear errors."""

import pytest
from rest_framework.test import APIClient

from leads.models import CaptureRecord, Interaction, Lead, PossibleDuplicate
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/capture"


@pytest.fixture
def api(api_as, manager):
    return api_as(manager)


def test_a_new_lead_is_201_and_the_raw_input_is_kept(api):
    payload = {
        "email": "Grace@Navy.mil",
        "first_name": "Grace",
        "company": "US Navy",
        "source": "chat",
        "source_detail": "Intercom",
        "utm_campaign": "launch",
        "attributes": {"plan": "team"},
        "message": "Hi there",
    }
    response = api.post(URL, payload, format="json", HTTP_USER_AGENT="integration/1.0", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 201
    assert response.json()["created"] is True
    lead = Lead.objects.get(pk=response.json()["lead"])
    assert (lead.email, lead.source, lead.source_detail, lead.utm_campaign) == (
        "grace@navy.mil",
        "chat",
        "Intercom",
        "launch",
    )
    assert lead.attributes == {"plan": "team"}
    record = CaptureRecord.objects.get(lead=lead)
    assert (record.channel, record.result, record.ip, record.user_agent) == (
        "chat",
        "created",
        "203.0.113.9",
        "integration/1.0",
    )
    assert record.payload["email"] == "Grace@Navy.mil"  # exactly as received
    interaction = lead.interactions.get()
    assert (interaction.kind, interaction.body, interaction.data["capture"]) == ("chat", "Hi there", record.pk)


def test_the_same_email_again_is_200_and_merges_without_overwriting(api):
    first = api.post(URL, {"email": "ada@example.com", "first_name": "Ada", "company": ""}, format="json")
    second = api.post(
        URL,
        {"email": "ADA@example.com", "first_name": "Augusta", "company": "Analytical Engines", "attributes": {"x": 1}},
        format="json",
    )
    assert second.status_code == 200
    assert second.json() == {"lead": first.json()["lead"], "created": False, "possible_duplicates": []}
    lead = Lead.objects.get()
    assert lead.first_name == "Ada"  # what a person entered is never overwritten
    assert lead.company == "Analytical Engines"  # blanks are filled
    assert lead.attributes == {"x": 1}
    assert lead.interactions.count() == 2
    assert list(CaptureRecord.objects.order_by("id").values_list("result", flat=True)) == ["created", "merged"]


def test_a_merge_marks_the_lead_for_processing_again(api):
    lead = LeadFactory(email="seen@example.com")
    Lead.objects.filter(pk=lead.pk).update(processed_at="2026-01-01T00:00:00Z")
    api.post(URL, {"email": "seen@example.com"}, format="json")
    lead.refresh_from_db()
    assert lead.processed_at is None


def test_external_id_matches_first(api):
    lead = LeadFactory(external_id="hubspot-42", email="old@example.com")
    response = api.post(URL, {"external_id": "hubspot-42", "email": "new@example.com"}, format="json")
    assert (response.status_code, response.json()["lead"]) == (200, lead.pk)


def test_a_phone_only_lead_is_found_by_phone(api):
    caller = LeadFactory(email="", phone="+442079460958", source="call")
    response = api.post(URL, {"phone": "020 7946 0958", "country": "GB", "email": "caller@example.com"}, format="json")
    assert (response.status_code, response.json()["lead"]) == (200, caller.pk)
    caller.refresh_from_db()
    assert caller.email == "caller@example.com"


def test_same_phone_with_another_email_is_a_possible_duplicate(api):
    other = LeadFactory(email="one@example.com", phone="+442079460958")
    response = api.post(URL, {"email": "two@example.com", "phone": "+44 20 7946 0958"}, format="json")
    assert response.status_code == 201
    assert response.json()["possible_duplicates"] == [other.pk]
    pair = PossibleDuplicate.objects.get()
    assert pair.reason == "same_phone"


def test_a_plus_tag_variant_is_kept_apart_but_flagged(api):
    base = LeadFactory(email="john@acme.io")
    response = api.post(URL, {"email": "john+webinar@acme.io"}, format="json")
    assert response.status_code == 201 and response.json()["lead"] != base.pk
    assert PossibleDuplicate.objects.get().reason == "plus_tag"


def test_same_name_at_the_same_company_domain_is_flagged_but_not_at_gmail(api):
    LeadFactory(first_name="Jane", last_name="Roe", email="jane.roe@initech.com")
    LeadFactory(first_name="Sam", last_name="Poe", email="sam.poe@gmail.com")
    api.post(URL, {"first_name": "jane", "last_name": "ROE", "email": "jroe@initech.com"}, format="json")
    api.post(URL, {"first_name": "Sam", "last_name": "Poe", "email": "sampoe77@gmail.com"}, format="json")
    assert list(PossibleDuplicate.objects.values_list("reason", flat=True)) == ["name_domain"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"email": "nope"}, "email"),
        ({"email": "a@b.co", "phone": "12"}, "phone"),
        ({"email": "a@b.co", "country": "Atlantis"}, "country"),
        ({"email": "a@b.co", "favourite_colour": "blue"}, "favourite_colour"),
        ({"email": "a@b.co", "source": "pigeon"}, "source"),
        ({"email": "a@b.co", "first_name": "x\x00y"}, "first_name"),
        ({"email": "a@b.co", "attributes": "not an object"}, "attributes"),
        ({"email": "a@b.co", "company_size": "enormous"}, "company_size"),
        ({"email": "a@b.co", "first_name": "x" * 151}, "first_name"),
    ],
)
def test_bad_input_is_a_400_per_field_and_is_logged(api, payload, field):
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Lead.objects.exists()
    if field != "source":
        assert CaptureRecord.objects.get().result == "rejected"


def test_malformed_and_non_object_json_is_400(api):
    assert api.post(URL, "{nope", content_type="application/json").status_code == 400
    assert api.post(URL, "[1, 2]", content_type="application/json").status_code == 400
    assert api.post(URL, b'{"email": "\xff\xfe"}', content_type="application/json").status_code == 400


def test_an_oversized_body_is_413(api):
    response = api.post(URL, {"email": "big@example.com", "message": "x" * 1_100_000}, format="json")
    assert response.status_code == 413
    assert not Lead.objects.exists()


def test_capture_needs_a_token():
    assert APIClient().post(URL, {"email": "anon@example.com"}, format="json").status_code == 401


def test_captured_leads_show_their_source_in_the_list_and_timeline(api, api_as, manager):
    api.post(URL, {"email": "w@example.com", "source": "webhook", "source_detail": "Zoom webinar"}, format="json")
    listed = api_as(manager).get("/api/v1/leads", {"source": "webhook"}).json()["results"]
    assert [row["email"] for row in listed] == ["w@example.com"]
    timeline = api_as(manager).get(f"/api/v1/leads/{listed[0]['id']}/interactions").json()["results"]
    assert [row["kind"] for row in timeline] == [Interaction.Kind.EVENT]
