"""Progressive profiling: a returning visitor (tracking cookie, or a nurture email's signed link)
is not asked again what the CRM knows; the next questions of the marketer's queue take its place."""

import pytest

from leads.capture.forms_builder.public_form import REQUIRED_MESSAGE, profile_token, profile_token_lead_id
from leads.models import Lead
from tests.factories import LeadFactory, TrackingSiteFactory, VisitorFactory

from .conftest import post_json

pytestmark = pytest.mark.django_db


def _names(layout: dict) -> list[list[str]]:
    return [[i.get("name", "§") for i in step["items"]] for step in layout["steps"]]


@pytest.fixture
def known_lead(db):
    lead = LeadFactory(
        bare=True, email="known@example.org", first_name="Kim", company="Known Co", attributes={"budget": "> 50k"}
    )
    site = TrackingSiteFactory(name="Site", allowed_hosts=["www.example.com"])
    VisitorFactory(site=site, visitor_key="returning-visitor-1", lead=lead)
    return lead


def test_a_stranger_sees_the_form_as_built(client, built_form, known_lead):
    layout = client.get("/f/demo/schema.json", {"vid": "someone-else-123"}).json()
    assert _names(layout) == [
        ["email", "first_name", "company", "utm_source", "campaign_id"],
        ["§", "budget", "procurement_contact", "seats", "interests", "po_number"],
    ]


def test_a_returning_visitor_gets_the_next_questions_instead(client, built_form, known_lead):
    layout = client.get("/f/demo/schema.json", {"vid": "returning-visitor-1"}).json()
    assert _names(layout) == [
        ["email", "timeline", "job_title", "utm_source", "campaign_id"],  # first name and company known
        ["§", "procurement_contact", "seats", "interests", "po_number"],  # budget known, the queue used up
    ]
    token = profile_token(lead_id=known_lead.pk)
    assert _names(client.get("/f/demo/schema.json", {"pt": token}).json()) == _names(layout)
    assert profile_token_lead_id(token=token + "x") is None


def test_the_server_asks_the_same_questions_of_a_returning_visitor(client, built_form, known_lead):
    data = {"email": "known@example.org", "visitor_id": "returning-visitor-1", "seats": "3"}
    response = post_json(client, built_form, data)
    assert response.status_code == 400
    assert response.json() == {"timeline": [REQUIRED_MESSAGE]}  # not company, not budget: known
    assert post_json(client, built_form, {**data, "timeline": "Now", "job_title": "CTO"}).status_code == 201
    known_lead.refresh_from_db()
    assert known_lead.attributes == {"budget": "> 50k", "timeline": "Now", "seats": 3}
    assert known_lead.job_title == "CTO"
    assert Lead.objects.count() == 1
