"""Creating, reading and changing leads through the API, and the errors users get."""

import pytest

from leads.common.safejson import BODY_NOT_JSON
from leads.models import Interaction, Lead
from tests.factories import InteractionFactory, LeadFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads"


def test_create_normalises_email_and_phone_and_records_the_timeline(api_as, manager):
    response = api_as(manager).post(
        URL,
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "  Ada.Lovelace@Example.COM ",
            "phone": "020 7946 0958",
            "country": "GB",
            "company": "Analytical Engines",
            "time_zone": "Europe/London",
            "source": "api",
            "external_id": "crm-1",
            "attributes": {"plan": "pro", "seats": 12},
            "utm_campaign": "spring",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "ada.lovelace@example.com"
    assert body["phone"] == "+442079460958"
    assert body["attributes"] == {"plan": "pro", "seats": 12}
    assert body["external_id"] == "crm-1"
    assert body["probability"] is None and body["score"] == 0
    assert body["owner"] is None
    lead = Lead.objects.get(pk=body["id"])
    assert list(lead.interactions.values_list("kind", flat=True)) == ["created"]


def test_a_reps_new_lead_is_their_own(api_as, rep):
    response = api_as(rep).post(URL, {"first_name": "Own", "email": "own@example.com"}, format="json")
    assert response.status_code == 201
    assert response.json()["owner"] == "rep1"
    assert api_as(rep).get(f"{URL}/{response.json()['id']}").status_code == 200


def test_a_second_lead_with_the_same_email_is_409_naming_the_first(api_as, manager):
    first = LeadFactory(email="dup@example.com")
    response = api_as(manager).post(URL, {"email": "DUP@example.com"}, format="json")
    assert response.status_code == 409
    assert response.json()["existing_lead"] == first.id
    assert response.json()["email"] == ["A lead with this email already exists."]
    assert Lead.objects.filter(email="dup@example.com").count() == 1


def test_changing_email_onto_another_leads_is_409(api_as, manager):
    first = LeadFactory(email="taken@example.com")
    second = LeadFactory(email="free@example.com")
    response = api_as(manager).patch(f"{URL}/{second.id}", {"email": "taken@example.com"}, format="json")
    assert response.status_code == 409 and response.json()["existing_lead"] == first.id
    second.refresh_from_db()
    assert second.email == "free@example.com"


def test_a_duplicate_external_id_is_409(api_as, manager):
    first = LeadFactory(external_id="ext-7")
    response = api_as(manager).post(URL, {"external_id": "ext-7"}, format="json")
    assert response.status_code == 409 and response.json()["existing_lead"] == first.id


def test_leads_without_email_do_not_clash(api_as, manager):
    client = api_as(manager)
    assert client.post(URL, {"first_name": "A", "email": ""}, format="json").status_code == 201
    assert client.post(URL, {"first_name": "B"}, format="json").status_code == 201


@pytest.mark.parametrize(
    "payload, field, message",
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"status": "won"}, "status", '"won" is not a valid choice.'),
        ({"phone": "12"}, "phone", "Enter a valid phone number, for example +44 20 7946 0958."),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Enter a valid IANA time zone, for example Europe/Berlin."),
        ({"country": "XX"}, "country", None),
        ({"status": "lost"}, "lost_reason", "A lost lead needs a lost reason."),
        ({"first_name": "Bad\x00Name"}, "first_name", "Null characters are not allowed."),
        ({"attributes": {"k": "v\x00"}}, "attributes", "Null characters are not allowed."),
        ({"attributes": ["not", "an", "object"]}, "attributes", "Attributes must be a JSON object."),
        ({"owner": "ghost"}, "owner", None),
        ({"company_size": "huge"}, "company_size", None),
        ({"website": "javascript:alert(1)"}, "website", None),
    ],
)
def test_invalid_input_is_a_400_with_a_message_per_field(api_as, manager, payload, field, message):
    before = Lead.objects.count()
    response = api_as(manager).post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors
    if message:
        assert message in errors[field]
    assert Lead.objects.count() == before


def test_malformed_json_is_a_400(api_as, manager):
    response = api_as(manager).post(URL, '{"email": "a@b.c",', content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [BODY_NOT_JSON]}


def test_a_lost_lead_keeps_its_reason_and_the_timeline_records_the_change(api_as, manager):
    lead = LeadFactory(status="active")
    response = api_as(manager).patch(f"{URL}/{lead.id}", {"status": "lost", "lost_reason": "No budget"}, format="json")
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.status, lead.lost_reason) == ("lost", "No budget")
    change = lead.interactions.get(kind=Interaction.Kind.STATUS_CHANGE)
    assert change.data["from"] == "active" and change.data["to"] == "lost"


def test_a_lead_json_carries_every_field(api_as, manager):
    lead = LeadFactory()
    body = api_as(manager).get(f"{URL}/{lead.id}").json()
    for field in (
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "job_title",
        "website",
        "country",
        "region",
        "city",
        "postal_code",
        "time_zone",
        "industry",
        "company_size",
        "source",
        "source_detail",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "status",
        "lost_reason",
        "score",
        "grade",
        "probability",
        "owner",
        "team",
        "external_id",
        "email_opt_in",
        "do_not_contact",
        "attributes",
        "first_contacted_at",
        "last_activity_at",
        "created_at",
        "updated_at",
    ):
        assert field in body, field


def test_interactions_endpoint_returns_the_timeline_newest_first(api_as, manager):
    lead = LeadFactory()
    older = InteractionFactory(lead=lead, subject="first call")
    newer = InteractionFactory(lead=lead, subject="follow-up")
    newer.occurred_at = older.occurred_at.replace(year=older.occurred_at.year + 1)
    newer.save()
    body = api_as(manager).get(f"{URL}/{lead.id}/interactions").json()
    assert [row["subject"] for row in body["results"]] == ["follow-up", "first call"]


def test_token_endpoint_exchanges_credentials_for_a_token(rep):
    from rest_framework.test import APIClient

    client = APIClient()
    ok = client.post("/api/v1/auth/token", {"username": "rep1", "password": "secret-pass-123"}, format="json")
    assert ok.status_code == 200 and len(ok.json()["token"]) == 40
    bad = client.post("/api/v1/auth/token", {"username": "rep1", "password": "wrong"}, format="json")
    assert bad.status_code == 400
    client.credentials(HTTP_AUTHORIZATION=f"Token {ok.json()['token']}")
    assert client.get(URL).status_code == 200


def test_schema_and_docs_are_served(api_as, manager):
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/leads" in paths and "/api/v1/leads/{id}/interactions" in paths
    params = {p["name"] for p in paths["/api/v1/leads"]["get"]["parameters"]}
    assert {
        "status",
        "search",
        "owner",
        "source",
        "score_min",
        "score_max",
        "created_after",
        "created_before",
        "ordering",
        "page_size",
    } <= params
    docs = APIClient().get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_the_timeline_filters_by_kind(api_as, manager):
    lead = LeadFactory()
    InteractionFactory(lead=lead, kind="note", subject="a note")
    InteractionFactory(lead=lead, kind="call_out", subject="a call")
    client = api_as(manager)
    calls = client.get(f"{URL}/{lead.id}/interactions", {"kind": "call_out"}).json()["results"]
    assert [row["subject"] for row in calls] == ["a call"]
    assert client.get(f"{URL}/{lead.id}/interactions", {"kind": "bogus"}).status_code == 400


def test_the_lead_fields_are_drfs_own_and_each_serializer_gets_its_own_copy():
    """LeadSerializer works its fields out once per process (leads/api/serializers.py): they must be
    the ones DRF builds from the model, and a change to one request's fields never reaches another's."""
    from rest_framework import serializers

    from leads.api.serializers import LeadSerializer

    first = LeadSerializer()
    assert {name: repr(field) for name, field in first.fields.items()} == {
        name: repr(field) for name, field in serializers.ModelSerializer.get_fields(LeadSerializer()).items()
    }
    first.fields["status"].read_only = True
    second = LeadSerializer()
    assert second.fields["status"].read_only is False and second.fields["status"] is not first.fields["status"]
    assert second.fields["status"].parent is second


def test_the_lead_json_is_what_drf_itself_writes_for_every_kind_of_value(rep, team):
    """LeadSerializer reads plain fields straight off the lead (leads/api/serializers.py): the JSON
    an integration gets must stay exactly DRF's, for empty and filled values alike, in the
    requester's time zone, with each lead's own URL."""
    from django.test import RequestFactory
    from django.utils import timezone
    from rest_framework import serializers
    from rest_framework.request import Request

    from leads.api.serializers import LeadSerializer

    filled = LeadFactory(
        owner=rep,
        team=team,
        country="DE",
        probability=0.42,
        score=77,
        grade="A",
        attributes={"visits": 3, "plan": "pro", "tags": ["a", "b"]},
        last_activity_at=timezone.now(),
        first_contacted_at=timezone.now(),
        email_opt_in=True,
    )
    empty = LeadFactory(owner=None, team=None, country="", probability=None, grade="", attributes={})
    request = Request(RequestFactory().get(URL))
    leads = list(Lead.objects.filter(pk__in=[filled.pk, empty.pk]).select_related("owner").order_by("pk"))
    with timezone.override("America/New_York"):
        fast = LeadSerializer(leads, many=True, context={"request": request}).data
        reference = LeadSerializer(context={"request": request})
        drf = [serializers.ModelSerializer.to_representation(reference, lead) for lead in leads]
    assert [dict(item) for item in fast] == drf
    assert fast[0]["last_activity_at"].endswith("-05:00") or fast[0]["last_activity_at"].endswith("-04:00")
    assert [item["url"] for item in fast] == [f"http://testserver{URL}/{lead.pk}" for lead in leads]
    assert fast[1]["probability"] is None and fast[1]["owner"] is None and fast[0]["owner"] == rep.username
