"""Inbound calls: where they ring (JSON or TwiML), the lead they belong to, and how they end."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.common.normalize import INVALID_PHONE
from leads.models import Assignment, Call, Interaction, Lead, RotationState
from leads.telephony.calls import (
    CALL_ALREADY_ENDED,
    CALL_NOT_FOUND,
    DURATION_INVALID,
    NUMBER_NOT_ROUTED,
    NUMBER_REQUIRED,
    OUTCOME_INVALID,
    call_route,
)
from leads.telephony.twiml import VOICEMAIL_PROMPT
from tests.factories import LeadFactory
from tests.leads.distribution.conftest import agent, boss, make_team, now, territory  # noqa: F401 (boss, now: fixtures)

pytestmark = pytest.mark.django_db

TEAM_LINE = "+442079460000"
CALLER = "+442079460958"
ALWAYS = {str(day): ["00:00", "24:00"] for day in range(7)}  # so the real clock never matters here


@pytest.fixture
def team(boss):
    team, (rep1, rep2) = make_team("Inside Sales", "rep1", "rep2", phone_numbers=[TEAM_LINE])
    agent(rep1, phone="+442079460001", working_hours=ALWAYS)
    agent(rep2, phone="+442079460002", working_hours=ALWAYS)
    territory("Everywhere", team, catch_all=True)
    return team


@pytest.fixture
def api(api_as, boss):
    return api_as(boss)


def inbound(api, *, accept="application/json", **body):
    return api.post("/api/v1/calls/inbound", body, format="json", HTTP_ACCEPT=accept)


def test_a_known_caller_rings_the_leads_owner(api, team):
    rep2 = team.members.get(username="rep2")
    lead = LeadFactory(phone=CALLER, owner=rep2, team=team)
    response = inbound(api, **{"from": CALLER, "to": TEAM_LINE, "call_id": "CA1"})
    assert response.status_code == 200
    assert response.json() == {
        "route": "agent",
        "agent": "rep2",
        "dial": "+442079460002",
        "lead": lead.pk,
        "call_id": "CA1",
    }
    call = Call.objects.get(call_id="CA1")
    assert (call.lead, call.agent, call.route) == (lead, rep2, "agent")
    entry = lead.interactions.get(kind=Interaction.Kind.CALL_IN)
    assert (entry.subject, entry.data["route"], entry.data["call_id"]) == ("Inbound call → rep2", "agent", "CA1")
    assert RotationState.objects.filter(assigned_total__gt=0).count() == 0  # the owner's call takes no turn


def test_an_unavailable_owner_passes_the_call_to_the_team_rotation(api, team, now):
    rep2 = team.members.get(username="rep2")
    agent(rep2, out_of_office_from=timezone.localdate() - timedelta(days=30))  # the call comes in now: relative
    lead = LeadFactory(phone=CALLER, owner=rep2, team=team)
    body = inbound(api, **{"from": CALLER, "to": TEAM_LINE}).json()
    assert (body["route"], body["agent"], body["dial"], body["lead"]) == ("team", "rep1", "+442079460001", lead.pk)
    assert Lead.objects.get(pk=lead.pk).owner == rep2  # the lead keeps its owner
    assert lead.interactions.get(kind="call_in").data["note"] == "owner rep2: out of office"


def test_an_unknown_caller_on_a_team_number_becomes_a_lead_for_the_rep_who_answers(api, team):
    body = inbound(api, **{"from": "+442079460777", "to": TEAM_LINE, "call_id": "CA2"}).json()
    lead = Lead.objects.get(phone="+442079460777")
    assert (lead.source, lead.team, lead.owner.username) == ("call", team, "rep1")
    assert body == {"route": "team", "agent": "rep1", "dial": "+442079460001", "lead": lead.pk, "call_id": "CA2"}
    assert Assignment.objects.get(lead=lead).detail == "inbound call → team Inside Sales → rep1 (round robin)"
    entry = lead.interactions.get(kind="call_in")  # one timeline entry: the capture's, completed with the routing
    assert (entry.subject, entry.data["route"], entry.data["agent"]) == ("Inbound call → rep1", "team", "rep1")


def test_with_nobody_available_the_caller_gets_voicemail_and_the_lead_waits_in_the_queue(api, team):
    for rep in team.members.all():
        agent(rep, is_active=False)
    response = inbound(api, **{"from": "+442079460778", "to": TEAM_LINE})
    body = response.json()
    lead = Lead.objects.get(phone="+442079460778")
    assert (body["route"], body["agent"], body["dial"], body["lead"]) == ("voicemail", None, None, lead.pk)
    assert (lead.owner, lead.team) == (None, team)
    assert lead.interactions.filter(kind="assignment", data__queue=team.pk).exists()


def test_twiml_when_xml_is_asked_for(api, team):
    response = inbound(api, accept="application/xml", **{"from": "+442079460779", "to": TEAM_LINE})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Response"
    assert root.find("Dial/Number").text == "+442079460001"


def test_twiml_voicemail_for_a_twilio_style_form_post(api, team):
    for rep in team.members.all():
        agent(rep, is_active=False)
    form = urlencode({"From": "+442079460780", "To": TEAM_LINE, "CallSid": "CA9"})
    response = api.post(
        "/api/v1/calls/inbound?format=xml",
        form,
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT="text/xml",
    )
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert root.find("Say").text == VOICEMAIL_PROMPT
    assert root.find("Record") is not None
    assert Call.objects.get(call_id="CA9").route == "voicemail"


def test_the_same_call_id_gets_the_same_answer_and_takes_one_turn(api, team):
    first = inbound(api, **{"from": "+442079460781", "to": TEAM_LINE, "call_id": "CA-retry"}).json()
    again = inbound(api, **{"from": "+442079460781", "to": TEAM_LINE, "call_id": "CA-retry"}).json()
    assert first == again
    assert Call.objects.count() == 1
    assert sum(RotationState.objects.values_list("assigned_total", flat=True)) == 1


def test_a_withheld_caller_is_routed_without_a_lead(api, team):
    body = inbound(api, **{"from": "anonymous", "to": TEAM_LINE}).json()
    assert (body["route"], body["agent"], body["lead"]) == ("team", "rep1", None)
    assert not Lead.objects.exists()


def test_an_agents_own_number_rings_that_agent(api, team):
    body = inbound(api, **{"from": "+442079460782", "to": "+442079460002"}).json()
    assert (body["route"], body["agent"], body["dial"]) == ("agent", "rep2", "+442079460002")


def test_live_calls_respect_working_hours(team):
    """Service level, with the clock passed in: at 03:00 on a Sunday nobody picks up."""
    for rep in team.members.all():
        agent(rep, working_hours={})  # the default Monday–Friday 09:00–17:00
    sunday_night = datetime(2026, 3, 15, 3, 0, tzinfo=UTC)
    assert call_route(from_number="+442079460783", to_number=TEAM_LINE, now=sunday_night)["route"] == "voicemail"
    monday = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)
    assert call_route(from_number="+442079460784", to_number=TEAM_LINE, now=monday)["route"] == "team"


def test_the_end_completes_the_call_and_the_owners_answered_call_is_the_first_contact(api, team):
    body = inbound(api, **{"from": "+442079460785", "to": TEAM_LINE, "call_id": "CA-end"}).json()
    response = api.post("/api/v1/calls/CA-end/end", {"duration": 200, "outcome": "Answered"}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "call_id": "CA-end",
        "ended": True,
        "duration": 200,
        "outcome": "answered",
        "lead": body["lead"],
    }
    call = Call.objects.get(call_id="CA-end")
    assert (call.duration_seconds, call.outcome) == (200, "answered") and call.ended_at is not None
    lead = Lead.objects.get(pk=body["lead"])
    entry = lead.interactions.get(kind="call_in")
    assert (entry.body, entry.actor.username, entry.data["duration_seconds"]) == ("answered, 3 min 20 s", "rep1", 200)
    assert lead.first_contacted_at == call.started_at  # rep1 owns it and spoke with the caller
    assert Assignment.objects.get(lead=lead).first_contact_at == call.started_at

    # The provider retries: same answer. A different end is a conflict.
    assert (
        api.post("/api/v1/calls/CA-end/end", {"duration": 200, "outcome": "answered"}, format="json").status_code == 200
    )
    conflict = api.post("/api/v1/calls/CA-end/end", {"duration": 5, "outcome": "busy"}, format="json")
    assert (conflict.status_code, conflict.json()) == (409, {"call_id": [CALL_ALREADY_ENDED]})


def test_a_missed_call_is_no_first_contact(api, team):
    body = inbound(api, **{"from": "+442079460786", "to": TEAM_LINE, "call_id": "CA-missed"}).json()
    assert (
        api.post("/api/v1/calls/CA-missed/end", {"duration": 0, "outcome": "no answer"}, format="json").status_code
        == 200
    )
    lead = Lead.objects.get(pk=body["lead"])
    assert lead.first_contacted_at is None
    assert lead.interactions.get(kind="call_in").body == "no answer, 0 s"


@pytest.mark.parametrize(
    "body, status, errors",
    [
        ({"to": TEAM_LINE}, 400, {"from": [NUMBER_REQUIRED]}),
        ({"from": "12", "to": TEAM_LINE}, 400, {"from": [INVALID_PHONE]}),
        ({"from": CALLER, "to": "not a number"}, 400, {"to": [INVALID_PHONE]}),
        ({"from": CALLER, "to": "+14155550100"}, 404, {"to": [NUMBER_NOT_ROUTED.format(number="+14155550100")]}),
        ({"from": CALLER, "to": TEAM_LINE, "call_id": "x\x00y"}, 400, None),
        ({"from": ["+1", "+2"], "to": TEAM_LINE}, 400, None),
        ({"from": 442079460958, "to": TEAM_LINE}, 400, {"from": [NUMBER_REQUIRED]}),
    ],
)
def test_bad_inbound_input_is_a_clear_4xx(api, team, body, status, errors):
    response = api.post("/api/v1/calls/inbound", body, format="json")
    assert response.status_code == status
    if errors:
        assert response.json() == errors
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    "body, status, errors",
    [
        ({"duration": -1, "outcome": "answered"}, 400, {"duration": [DURATION_INVALID]}),
        ({"duration": "ten", "outcome": "answered"}, 400, {"duration": [DURATION_INVALID]}),
        ({"duration": 10}, 400, {"outcome": [OUTCOME_INVALID]}),
        ({"duration": 10, "outcome": "x" * 101}, 400, {"outcome": [OUTCOME_INVALID]}),
    ],
)
def test_bad_end_input_is_a_clear_4xx(api, team, body, status, errors):
    inbound(api, **{"from": CALLER, "to": TEAM_LINE, "call_id": "CA-bad"})
    response = api.post("/api/v1/calls/CA-bad/end", body, format="json")
    assert (response.status_code, response.json()) == (status, errors)


def test_other_bad_requests(api, client, team):
    assert api.post("/api/v1/calls/nope/end", {"duration": 1, "outcome": "answered"}, format="json").json() == {
        "call_id": [CALL_NOT_FOUND]
    }
    assert api.post("/api/v1/calls/inbound", "[1, 2]", content_type="application/json").status_code == 400
    assert api.post("/api/v1/calls/inbound", "{not json", content_type="application/json").status_code == 400
    assert (
        client.post(
            "/api/v1/calls/inbound", {"from": CALLER, "to": TEAM_LINE}, content_type="application/json"
        ).status_code
        == 401
    )
    error = api.post("/api/v1/calls/inbound", {"to": TEAM_LINE}, format="json", HTTP_ACCEPT="application/xml")
    assert error.status_code == 400
    assert ElementTree.fromstring(error.content).find("Error/Message").attrib["field"] == "from"


def test_someone_without_a_role_may_not_route_calls(api_as, team):
    from tests.factories import UserFactory

    response = api_as(UserFactory()).post("/api/v1/calls/inbound", {"from": CALLER, "to": TEAM_LINE}, format="json")
    assert response.status_code == 403


def test_both_endpoints_are_in_the_openapi_schema(api):
    schema = api.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()
    assert "post" in schema["paths"]["/api/v1/calls/inbound"]
    assert "post" in schema["paths"]["/api/v1/calls/{call_id}/end"]
    answer = schema["components"]["schemas"]["CallAnswer"]["properties"]
    assert set(answer) >= {"route", "agent", "dial", "lead"}


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.dictionaries(st.sampled_from(["from", "to", "call_id", "From", "duration", "outcome"]), JSONISH, max_size=4)
)
def test_no_input_makes_the_call_endpoints_fail_with_a_500(api, team, body):
    inbound_response = api.post("/api/v1/calls/inbound", body, format="json")
    assert inbound_response.status_code < 500
    end_response = api.post("/api/v1/calls/some-call/end", body, format="json")
    assert end_response.status_code < 500
