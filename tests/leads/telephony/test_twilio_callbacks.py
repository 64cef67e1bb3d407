"""After the first ring: the <Dial> action (the next agent in turn, or voicemail), the call's status
callback (the call ends, the timeline says how, the owner's first contact) and the voicemail
recording; Twilio retries each of them, and a replay changes nothing."""

import pytest

from leads.models import (
    Assignment,
    Call,
    CallCallback,
    Interaction,
    Lead,
    Notification,
    OutboxJob,
    WebhookDelivery,
)
from leads.telephony.call_flow import ANSWERED_DETAIL
from tests.factories import AssignmentFactory, LeadFactory, WebhookSubscriptionFactory

from .conftest import DIAL, REP1_PHONE, REP2_PHONE, STATUS, inbound, sid, twilio_post, twiml

pytestmark = pytest.mark.django_db
CALLER = "+442079460958"
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC11111111111111111111111111111111/Recordings/RE" + "a" * 32


def leg_ended(client, call_sid: str, status: str, leg_sid: str | None = None):
    """The <Dial> action: how the leg to the agent ended."""
    params = {
        "CallSid": call_sid,
        "DialCallSid": leg_sid or sid(),
        "DialCallStatus": status,
        "CallStatus": "in-progress",
    }
    if status in ("completed", "answered"):
        params["DialCallDuration"] = "95"
    return twilio_post(client, DIAL, params)


def call_status(client, call_sid: str, status: str, **extra):
    params = {"CallSid": call_sid, "CallStatus": status, "Direction": "inbound", "From": CALLER, **extra}
    return twilio_post(client, STATUS, params)


@pytest.fixture
def owned_lead(team):
    return LeadFactory(phone=CALLER, owner=team.members.get(username="rep2"), team=team)


def test_an_answered_call_ends_on_the_timeline_and_is_the_owners_first_contact(client, team, owned_lead):
    rep2 = team.members.get(username="rep2")
    AssignmentFactory(lead=owned_lead, agent=rep2, team=team, reason="round_robin", assigned_at=owned_lead.created_at)
    call_sid = sid()
    twiml(inbound(client, caller=CALLER, call_sid=call_sid))
    assert [child.tag for child in twiml(leg_ended(client, call_sid, "completed"))] == ["Hangup"]
    assert call_status(client, call_sid, "completed", CallDuration="97").status_code == 200

    call = Call.objects.get(call_id=call_sid)
    assert (call.status, call.outcome, call.duration_seconds, call.agent) == ("completed", "answered", 97, rep2)
    assert call.answered_at is not None and call.ended_at is not None
    entry = owned_lead.interactions.get(kind=Interaction.Kind.CALL_IN)
    assert (entry.body, entry.actor, entry.data["outcome"]) == ("answered, 1 min 37 s", rep2, "answered")
    lead = Lead.objects.get(pk=owned_lead.pk)
    assert lead.first_contacted_at == call.started_at
    assert Assignment.objects.get(lead=lead).first_contact_at is not None


def test_replayed_callbacks_change_nothing(client, team, owned_lead):
    call_sid, leg_sid = sid(), sid()
    twiml(inbound(client, caller=CALLER, call_sid=call_sid))
    for _ in range(2):
        assert [child.tag for child in twiml(leg_ended(client, call_sid, "completed", leg_sid))] == ["Hangup"]
    for _ in range(3):
        assert call_status(client, call_sid, "completed", CallDuration="97").status_code == 200
    call = Call.objects.get(call_id=call_sid)
    first_contact = Lead.objects.get(pk=owned_lead.pk).first_contacted_at
    assert (call.outcome, call.duration_seconds) == ("answered", 97)
    assert CallCallback.objects.filter(call_id=call_sid).count() == 2  # one leg, one status
    assert owned_lead.interactions.filter(kind=Interaction.Kind.CALL_IN).count() == 1
    assert call_status(client, call_sid, "completed", CallDuration="97").status_code == 200
    assert Lead.objects.get(pk=owned_lead.pk).first_contacted_at == first_contact


def test_a_replayed_unanswered_leg_rings_the_next_agent_once(client, team, owned_lead):
    call_sid, leg_sid = sid(), sid()
    twiml(inbound(client, caller=CALLER, call_sid=call_sid))
    first = twiml(leg_ended(client, call_sid, "no-answer", leg_sid)).find("Dial/Number").text
    again = twiml(leg_ended(client, call_sid, "no-answer", leg_sid)).find("Dial/Number").text
    assert first == again == REP1_PHONE  # the owner rep2 did not answer: the team's next, once
    rep1, rep2 = team.members.get(username="rep1"), team.members.get(username="rep2")
    assert Call.objects.get(call_id=call_sid).rung == [rep2.pk, rep1.pk]


def test_the_team_rings_in_turn_then_voicemail_and_the_call_ends_as_voicemail(client, team, owned_lead):
    call_sid = sid()
    assert twiml(inbound(client, caller=CALLER, call_sid=call_sid)).find("Dial/Number").text == REP2_PHONE
    assert twiml(leg_ended(client, call_sid, "busy")).find("Dial/Number").text == REP1_PHONE
    root = twiml(leg_ended(client, call_sid, "no-answer"))
    assert [child.tag for child in root] == ["Say", "Record", "Hangup"]  # everyone was rung once
    assert [
        child.tag for child in twiml(twilio_post(client, DIAL, {"CallSid": call_sid, "RecordingUrl": RECORDING}))
    ] == ["Hangup"]
    assert call_status(client, call_sid, "completed", CallDuration="40").status_code == 200
    call = Call.objects.get(call_id=call_sid)
    assert (call.route, call.agent, call.outcome) == ("voicemail", None, "voicemail")
    assert Lead.objects.get(pk=owned_lead.pk).first_contacted_at is None  # nobody spoke with the caller


def test_when_another_rep_answers_the_lead_the_call_placed_follows_them(client, team):
    call_sid = sid()
    assert twiml(inbound(client, caller="+442079460777", call_sid=call_sid)).find("Dial/Number").text == REP1_PHONE
    lead = Lead.objects.get(phone="+442079460777")
    assert lead.owner.username == "rep1"
    assert twiml(leg_ended(client, call_sid, "no-answer")).find("Dial/Number").text == REP2_PHONE
    twiml(leg_ended(client, call_sid, "completed"))
    call_status(client, call_sid, "completed", CallDuration="60")
    lead.refresh_from_db()
    rep2 = team.members.get(username="rep2")
    assert lead.owner == rep2
    assert Assignment.objects.filter(lead=lead).latest("id").detail == ANSWERED_DETAIL.format(
        agent="rep2", owner="rep1"
    )
    assert lead.first_contacted_at is not None  # rep2, the owner now, spoke with them


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("busy", "busy"), ("no-answer", "no_answer"), ("failed", "failed"), ("canceled", "canceled")],
)
def test_a_call_that_never_connected_ends_with_twilios_status(client, team, owned_lead, status, outcome):
    call_sid = sid()
    twiml(inbound(client, caller=CALLER, call_sid=call_sid))
    assert call_status(client, call_sid, status, CallDuration="0").status_code == 200
    call = Call.objects.get(call_id=call_sid)
    assert (call.status, call.outcome, call.duration_seconds) == (status, outcome, 0)
    assert owned_lead.interactions.get(kind="call_in").body == f"{outcome.replace('_', ' ')}, 0 s"
    assert Lead.objects.get(pk=owned_lead.pk).first_contacted_at is None


def test_a_progress_status_is_noted_and_ends_nothing(client, team, owned_lead):
    call_sid = sid()
    twiml(inbound(client, caller=CALLER, call_sid=call_sid))
    assert call_status(client, call_sid, "in-progress").status_code == 200
    call = Call.objects.get(call_id=call_sid)
    assert (call.status, call.ended_at) == ("in-progress", None)


def test_a_voicemail_recording_reaches_the_timeline_and_its_owner_once(client, team, owned_lead):
    for rep in team.members.all():
        rep.is_active = False
        rep.save()
    call_sid = sid()
    assert twiml(inbound(client, caller=CALLER, call_sid=call_sid)).find("Record") is not None
    recording = {
        "RecordingUrl": RECORDING,
        "RecordingSid": "RE" + "a" * 32,
        "RecordingStatus": "completed",
        "RecordingDuration": "25",
    }
    for _ in range(2):  # Twilio retries
        assert call_status(client, call_sid, "completed", CallDuration="38", **recording).status_code == 200
    call = Call.objects.get(call_id=call_sid)
    assert (call.recording_url, call.outcome) == (RECORDING, "voicemail")
    entry = owned_lead.interactions.get(kind=Interaction.Kind.EVENT, channel="call")
    assert (entry.subject, entry.body, entry.data["duration_seconds"]) == ("Voicemail (25 s)", RECORDING, 25)
    notification = Notification.objects.get(kind=Notification.Kind.VOICEMAIL)
    assert (notification.user.username, notification.lead_id) == ("rep2", owned_lead.pk)
    assert (
        OutboxJob.objects.filter(
            task_name="leads.workspace.tasks.notify_by_email_task", args=[[notification.pk]]
        ).count()
        == 1
    )


def test_a_status_for_a_call_never_routed_here_is_a_404(client, team):
    response = call_status(client, sid(), "completed", CallDuration="5")
    assert response.status_code == 404


def test_an_agents_direct_line_goes_to_their_voicemail_when_they_do_not_answer(client, team):
    call_sid = sid()
    root = twiml(inbound(client, caller=CALLER, call_sid=call_sid, to=REP1_PHONE))
    assert root.find("Dial/Number").text == REP1_PHONE
    assert [child.tag for child in twiml(leg_ended(client, call_sid, "no-answer"))] == ["Say", "Record", "Hangup"]


def test_a_status_that_overtakes_the_answered_leg_is_corrected_to_answered(client, team, owned_lead):
    """The caller hung up mid-call: Twilio's completed status arrived before the <Dial> action."""
    call_sid = sid()
    twiml(inbound(client, caller=CALLER, call_sid=call_sid))
    call_status(client, call_sid, "completed", CallDuration="80")
    assert Call.objects.get(call_id=call_sid).outcome == "missed"
    assert Lead.objects.get(pk=owned_lead.pk).first_contacted_at is None
    twiml(leg_ended(client, call_sid, "completed"))
    call = Call.objects.get(call_id=call_sid)
    assert (call.outcome, call.duration_seconds) == ("answered", 80)
    assert owned_lead.interactions.get(kind="call_in").body == "answered, 1 min 20 s"
    assert Lead.objects.get(pk=owned_lead.pk).first_contacted_at == call.started_at


def test_the_end_of_a_call_is_published_to_outbound_webhooks(client, team, owned_lead):
    subscription = WebhookSubscriptionFactory(
        url="https://hooks.example.com/calls",
        events=["lead.call"],
        secret="whsec_" + "A" * 32,
    )
    call_sid = sid()
    twiml(inbound(client, caller=CALLER, call_sid=call_sid))
    twiml(leg_ended(client, call_sid, "completed"))
    call_status(client, call_sid, "completed", CallDuration="97")
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert (delivery.event_type, delivery.lead_id) == ("lead.call", owned_lead.pk)
    assert delivery.payload["data"]["event"] == {"outcome": "answered", "duration": 97, "logged": False}


def test_legs_without_their_sid_still_ring_in_turn_and_replay_once(client, team, owned_lead):
    call_sid = sid()
    twiml(inbound(client, caller=CALLER, call_sid=call_sid))
    no_sid = {"CallSid": call_sid, "DialCallStatus": "no-answer"}
    assert twiml(twilio_post(client, DIAL, no_sid)).find("Dial/Number").text == REP1_PHONE
    assert twiml(twilio_post(client, DIAL, no_sid)).find("Record") is not None  # the next hop: nobody left
    assert twiml(twilio_post(client, DIAL, no_sid)).find("Record") is not None
    assert Call.objects.get(call_id=call_sid).route == "voicemail"
