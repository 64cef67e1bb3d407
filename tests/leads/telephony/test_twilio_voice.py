"""Twilio's "a call comes in" webhook: signed as Twilio signs, routed by the real routing, answered
with TwiML that rings the right phone."""

import time
from urllib.parse import urlencode

import pytest

from leads.models import Call, CaptureRecord, Interaction, Lead
from leads.telephony.provider import ACCOUNT_UNKNOWN, SIGNATURE_INVALID, SIGNATURE_MISSING
from tests.factories import LeadFactory, TwilioAccountFactory

from .conftest import (
    ACCOUNT_SID,
    REP1_PHONE,
    REP2_PHONE,
    TEAM_LINE,
    VOICE,
    inbound,
    sid,
    signature,
    twilio_post,
    twiml,
)

pytestmark = pytest.mark.django_db
CALLER = "+442079460958"


def test_a_signed_call_from_a_known_lead_rings_its_owner(client, team):
    rep2 = team.members.get(username="rep2")
    lead = LeadFactory(phone=CALLER, owner=rep2, team=team)
    call_sid = sid()
    root = twiml(inbound(client, caller=CALLER, call_sid=call_sid))
    dial = root.find("Dial")
    assert dial.find("Number").text == REP2_PHONE
    assert dial.get("action") == "http://testserver/telephony/twilio/dial"
    assert (dial.get("timeout"), dial.get("answerOnBridge")) == ("20", "true")
    call = Call.objects.get(call_id=call_sid)
    assert (call.lead, call.agent, call.route, call.rung) == (lead, rep2, "agent", [rep2.pk])
    entry = lead.interactions.get(kind=Interaction.Kind.CALL_IN)
    assert (entry.subject, entry.data["call_id"], entry.data["route"]) == ("Inbound call → rep2", call_sid, "agent")


def test_an_unknown_caller_becomes_a_lead_through_capture_and_rings_the_teams_next_rep(client, team):
    root = twiml(inbound(client, caller="+442079460777"))
    assert root.find("Dial/Number").text == REP1_PHONE
    lead = Lead.objects.get(phone="+442079460777")
    assert (lead.source, lead.team, lead.owner.username) == ("call", team, "rep1")
    assert CaptureRecord.objects.filter(lead=lead, channel="call").count() == 1  # the one front door
    assert Call.objects.get(lead=lead).placed_lead is True


def test_the_same_call_sid_again_rings_the_same_phone_and_takes_one_turn(client, team):
    call_sid = sid()
    first = twiml(inbound(client, caller="+442079460779", call_sid=call_sid)).find("Dial/Number").text
    again = twiml(inbound(client, caller="+442079460779", call_sid=call_sid)).find("Dial/Number").text
    assert first == again == REP1_PHONE
    assert Call.objects.count() == 1
    assert twiml(inbound(client, caller="+442079460780")).find("Dial/Number").text == REP2_PHONE  # the turn moved once


def test_nobody_available_answers_with_a_voicemail_recording(client, team):
    for rep in team.members.all():
        rep.is_active = False
        rep.save()
    root = twiml(inbound(client, caller="+442079460781"))
    assert root.find("Dial") is None
    assert [child.tag for child in root] == ["Say", "Record", "Hangup"]
    record = root.find("Record")
    assert record.get("action") == "http://testserver/telephony/twilio/dial"  # not the voice URL: no second recording
    assert record.get("recordingStatusCallback") == "http://testserver/telephony/twilio/status"
    assert record.get("maxLength") == "120"
    assert Call.objects.get(from_number="+442079460781").route == "voicemail"


def test_twilios_withheld_caller_id_is_routed_without_a_lead(client, team):
    root = twiml(inbound(client, caller="+266696687"))
    assert root.find("Dial/Number").text == REP1_PHONE
    call = Call.objects.get()
    assert (call.from_number, call.lead) == ("withheld", None)
    assert not Lead.objects.exists()


def test_a_missing_signature_is_refused_before_anything_is_read(client, team):
    response = twilio_post(client, VOICE, {"CallSid": "nonsense", "From": CALLER, "To": TEAM_LINE}, sign=False)
    assert response.status_code == 403
    assert response.json() == {"detail": SIGNATURE_MISSING}
    assert not Call.objects.exists() and not Lead.objects.exists()


@pytest.mark.parametrize(
    "how",
    ["another token", "another URL", "a changed field", "a garbled header"],
)
def test_a_wrong_signature_is_refused(client, team, how):
    params = {"AccountSid": ACCOUNT_SID, "CallSid": sid(), "From": CALLER, "To": TEAM_LINE, "Direction": "inbound"}
    url = "http://testserver" + VOICE
    good = signature(url, params)
    header = {
        "another token": signature(url, params, token="not-the-token"),
        "another URL": signature("http://testserver/telephony/twilio/status", params),
        "a changed field": good,
        "a garbled header": good[:-2] + "==x",
    }[how]
    if how == "a changed field":
        params["From"] = "+442079460999"  # someone rewrote the caller after Twilio signed
    response = client.post(
        VOICE,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=header,
    )
    assert response.status_code == 403
    assert response.json() == {"detail": SIGNATURE_INVALID}
    assert not Call.objects.exists()


def test_an_account_not_configured_here_is_refused(client, team, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    response = inbound(client, caller=CALLER)
    assert (response.status_code, response.json()) == (403, {"detail": ACCOUNT_UNKNOWN})


def test_an_account_configured_in_admin_is_taken_and_an_inactive_one_is_not(client, team, settings):
    other_sid, other_token = "AC" + "2" * 32, "admin-row-token-abcdef"
    account = TwilioAccountFactory(name="Second line", account_sid=other_sid, auth_token=other_token)
    params = {"AccountSid": other_sid, "CallSid": sid(), "From": CALLER, "To": TEAM_LINE, "Direction": "inbound"}
    assert twiml(twilio_post(client, VOICE, params, token=other_token)).find("Dial/Number").text == REP1_PHONE
    account.is_active = False
    account.save()
    assert twilio_post(client, VOICE, {**params, "CallSid": sid()}, token=other_token).status_code == 403


def test_behind_our_proxy_the_url_twilio_signed_is_the_forwarded_one(client, team, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # the test client's address: our proxy
    params = {"CallSid": sid(), "From": CALLER, "To": TEAM_LINE, "Direction": "inbound"}
    forwarded = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "crm.example.com"}
    root = twiml(twilio_post(client, VOICE, params, url="https://crm.example.com" + VOICE, **forwarded))
    assert root.find("Dial").get("action") == "https://crm.example.com/telephony/twilio/dial"


def test_forwarded_headers_from_anyone_else_are_not_believed(client, team):
    params = {"CallSid": sid(), "From": CALLER, "To": TEAM_LINE}
    forwarded = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "crm.example.com"}
    response = twilio_post(client, VOICE, params, url="https://crm.example.com" + VOICE, **forwarded)
    assert response.status_code == 403


def test_the_public_base_url_setting_names_the_url_twilio_called(client, team, settings):
    settings.TWILIO_PUBLIC_BASE_URL = "https://calls.example.com"
    params = {"CallSid": sid(), "From": CALLER, "To": TEAM_LINE}
    root = twiml(twilio_post(client, VOICE, params, url="https://calls.example.com" + VOICE))
    assert root.find("Dial").get("action") == "https://calls.example.com/telephony/twilio/dial"
    assert twilio_post(client, VOICE, {**params, "CallSid": sid()}).status_code == 403  # signed for testserver


def test_the_answer_is_a_few_statements_and_fast(client, team, django_assert_max_num_queries):
    """Twilio waits 15 s at most; the answer is the routing's statements and nothing slow."""
    LeadFactory(phone=CALLER, owner=team.members.get(username="rep1"), team=team)
    started = time.perf_counter()
    with django_assert_max_num_queries(25):
        twiml(inbound(client, caller=CALLER))
    assert time.perf_counter() - started < 2.0
