"""The permission matrix of every way in that is not the lead API itself: capture, raw email,
calls, webhooks, tracking and web forms. Roles: anonymous, a rep on their own lead, a rep on
another rep's lead, a marketer, a manager. Foreign objects are 404 (or kept apart), and no answer
carries the id of a lead its caller may not see."""

import json

import pytest
from rest_framework.test import APIClient

from leads.capture.webforms import TIMESTAMP_FIELD
from leads.models import Call, Interaction, Lead, PossibleDuplicate, WebhookSource
from tests.factories import (
    CallFactory,
    LeadFactory,
    TeamSettingsFactory,
    TrackingSiteFactory,
    WebFormFactory,
    WebhookSourceFactory,
)

from ..capture.test_webforms import stamp
from ..capture.webhooks.test_webhooks import sign
from ..distribution.conftest import agent

pytestmark = pytest.mark.django_db

TEAM_LINE = "+442079460000"


def ids_in(response) -> set[int]:
    """Every integer anywhere in a JSON answer (a lead id could hide in any of them)."""
    found, stack = set(), [response.json()]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int):
            found.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


@pytest.fixture
def leads(rep, other_rep, team):
    own = LeadFactory(owner=rep, team=team, email="own@example-co.example", phone="+442079460111", tags=["old"])
    other = LeadFactory(
        owner=other_rep, team=team, email="other@example-co.example", phone="+442079460222", tags=["old"]
    )
    return {"own": own, "other": other}


def capture(client, email: str):
    return client.post("/api/v1/capture", {"email": email, "tags": ["campaign"], "city": "Leeds"}, format="json")


def untouched(lead: Lead) -> bool:
    lead.refresh_from_db()
    return lead.tags == ["old"] and lead.city != "Leeds" and not lead.interactions.exists()


# --- POST /api/v1/capture ----------------------------------------------------------------------


def test_anonymous_capture_is_401(leads):
    assert capture(APIClient(), leads["other"].email).status_code == 401
    assert untouched(leads["other"])


def test_a_rep_capturing_their_own_leads_email_merges_into_it(api_as, rep, leads):
    response = capture(api_as(rep), leads["own"].email)
    assert response.status_code == 200
    assert response.json()["lead"] == leads["own"].pk
    leads["own"].refresh_from_db()
    assert leads["own"].tags == ["campaign", "old"]


@pytest.mark.parametrize("role", ["rep", "marketer"])
def test_a_capture_matching_a_lead_its_sender_may_not_change_is_kept_apart(role, request, api_as, leads):
    """Broke: a rep (or marketer) posting another rep's lead's email merged into that lead (tags,
    attributes, a timeline entry with them as actor, blank fields filled) and got its id back."""
    other = leads["other"]
    response = capture(api_as(request.getfixturevalue(role)), other.email)

    assert response.status_code == 201
    assert other.pk not in ids_in(response)
    assert untouched(other)
    held = Lead.objects.get(pk=response.json()["lead"])
    assert held.email == "" and held.attributes["captured_email"] == other.email and held.city == "Leeds"
    pair = PossibleDuplicate.objects.get()
    assert {pair.lead_id, pair.other_id} == {held.pk, other.pk}
    assert pair.reason == PossibleDuplicate.Reason.SAME_IDENTITY


def test_a_reps_capture_names_no_similar_lead_they_cannot_see(api_as, rep, leads):
    """Broke: possible_duplicates listed the ids of other reps' leads with the same phone."""
    response = api_as(rep).post(
        "/api/v1/capture", {"email": "new@example-co.example", "phone": leads["other"].phone}, format="json"
    )
    assert response.status_code == 201
    assert leads["other"].pk not in ids_in(response)
    assert response.json()["possible_duplicates"] == []


def test_a_manager_capture_merges_into_any_lead(api_as, manager, leads):
    response = capture(api_as(manager), leads["other"].email)
    assert response.status_code == 200
    assert response.json()["lead"] == leads["other"].pk


# --- POST /api/v1/capture/email --------------------------------------------------------------


RAW = b"From: Other <other@example-co.example>\r\nTo: sales@leadcrm.test\r\nSubject: Hi\r\nMessage-ID: <p1@x>\r\n\r\nHello\r\n"


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("rep", 403), ("marketer", 403), ("manager", 200)])
def test_raw_email_capture_is_a_managers_integration(role, status, request, api_as, leads):
    """Broke: any role could post raw mail, which merges into whichever lead sent it and answers with its id."""
    client = api_as(request.getfixturevalue(role)) if role else APIClient()
    response = client.post("/api/v1/capture/email", data=RAW, content_type="message/rfc822")
    assert response.status_code == status
    assert leads["other"].interactions.exists() == (status == 200)


# --- POST /api/v1/calls/inbound and /calls/{id}/end --------------------------------------------


@pytest.fixture
def line(team, rep, other_rep):

    TeamSettingsFactory(team=team, phone_numbers=[TEAM_LINE])
    always = {str(day): ["00:00", "24:00"] for day in range(7)}
    agent(rep, phone="+442079460001", working_hours=always)
    agent(other_rep, phone="+442079460002", working_hours=always)
    return TEAM_LINE


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("rep", 403), ("marketer", 403), ("manager", 200)])
def test_only_managers_route_inbound_calls(role, status, request, api_as, leads, line):
    """Broke: any role could route a call, so a rep learned the id of another rep's lead from its phone number."""
    client = api_as(request.getfixturevalue(role)) if role else APIClient()
    response = client.post("/api/v1/calls/inbound", {"from": leads["other"].phone, "to": line}, format="json")
    assert response.status_code == status
    if status != 200:
        assert leads["other"].pk not in ids_in(response)
        assert not Call.objects.exists()


@pytest.fixture
def calls(leads, rep, other_rep):
    return {
        name: CallFactory(
            call_id=f"CA-{name}",
            from_number=lead.phone,
            to_number=TEAM_LINE,
            lead=lead,
            agent=lead.owner,
            route="agent",
        )
        for name, lead in leads.items()
    }


@pytest.mark.parametrize(
    ("role", "call", "status"),
    [
        (None, "own", 401),
        ("rep", "own", 200),
        ("rep", "other", 404),
        ("marketer", "own", 403),
        ("manager", "other", 200),
    ],
    ids=["anonymous", "rep-own", "rep-other", "marketer", "manager"],
)
def test_who_may_end_a_call(role, call, status, request, api_as, calls):
    """Broke: a marketer (or any rep) could write a call outcome onto any lead's timeline."""
    client = api_as(request.getfixturevalue(role)) if role else APIClient()
    response = client.post(f"/api/v1/calls/CA-{call}/end", {"duration": 42, "outcome": "answered"}, format="json")
    assert response.status_code == status
    calls[call].refresh_from_db()
    assert (calls[call].outcome == "answered") == (status == 200)
    if status != 200:
        assert calls[call].lead_id not in ids_in(response)


# --- public endpoints: webhooks, tracking, web forms ------------------------------------------


def test_a_webhook_needs_its_signature_whoever_is_logged_in(api_as, rep, team, leads):
    source = WebhookSourceFactory(name="Ads", channel=WebhookSource.Channel.ADS, team=team, mapping={"email": "email"})
    body = json.dumps({"email": leads["other"].email}).encode()
    url = f"/api/v1/capture/webhook/{source.key}"
    assert api_as(rep).generic("POST", url, body, content_type="application/json").status_code == 401
    assert APIClient().generic("POST", url, body, content_type="application/json").status_code == 401
    assert untouched(leads["other"])
    signed = APIClient().generic(
        "POST", url, body, content_type="application/json", HTTP_X_LEADCRM_SIGNATURE=sign(source.secret, body)
    )
    assert signed.status_code == 200  # the source's own sender: its lead, merged


def test_tracking_answers_name_no_lead(client, leads):
    site = TrackingSiteFactory(name="Site", allowed_hosts=["www.example.com"])
    hit = {"url": "https://www.example.com/", "visitor": "v" * 32, "title": "Home"}
    response = client.generic(
        "POST",
        f"/t/{site.key}/collect",
        json.dumps(hit).encode(),
        content_type="text/plain",
        HTTP_ORIGIN="https://www.example.com",
    )
    assert response.status_code == 202
    assert ids_in(response) == set()


def test_a_web_form_answer_names_no_lead(client, leads):
    """Broke: the JSON answer of a public form was {"lead": id}: typing someone's email revealed their lead's id."""
    form = WebFormFactory(name="Form", key="form", fields=["email"], required_fields=["email"], min_fill_seconds=0)
    body = {"email": leads["other"].email, TIMESTAMP_FIELD: stamp(form)}
    response = client.post("/f/form", json.dumps(body), content_type="application/json", HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    assert ids_in(response) == set()
    assert Interaction.objects.filter(lead=leads["other"]).exists()
