"""Hostile input on Twilio's webhooks: the signature first (403), then a message per bad field
(400), a flood of unsigned posts limited per address (429), never a 500."""

import uuid
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.models import Call
from leads.telephony.provider import (
    CALL_SID_INVALID,
    DIRECTION_NOT_INBOUND,
    DURATION_INVALID,
    FIELD_INVALID,
    FIELD_REPEATED,
    FIELD_REQUIRED,
    RATE_LIMITED,
    RECORDING_URL_INVALID,
)

from .conftest import ACCOUNT_SID, DIAL, STATUS, TEAM_LINE, VOICE, inbound, sid, signature, twilio_post

pytestmark = pytest.mark.django_db
CALLER = "+442079460958"


@pytest.mark.parametrize(
    ("path", "params", "errors"),
    [
        (VOICE, {"From": CALLER, "To": TEAM_LINE}, {"CallSid": FIELD_REQUIRED}),
        (VOICE, {"CallSid": "CA123", "From": CALLER, "To": TEAM_LINE}, {"CallSid": CALL_SID_INVALID}),
        (VOICE, {"CallSid": "CA" + "0" * 32, "To": TEAM_LINE}, {"From": FIELD_REQUIRED}),
        (
            VOICE,
            {"CallSid": "CA" + "0" * 32, "From": CALLER, "To": TEAM_LINE, "Direction": "outbound-api"},
            {"Direction": DIRECTION_NOT_INBOUND},
        ),
        (VOICE, {"CallSid": "CA" + "0" * 32, "From": "x" * 500, "To": TEAM_LINE}, {"From": FIELD_INVALID}),
        (
            VOICE,
            {"CallSid": "CA" + "0" * 32, "From": "not a phone", "To": TEAM_LINE},
            None,
        ),  # the routing's own message
        (DIAL, {"CallSid": "CA" + "0" * 32, "DialCallStatus": "exploded"}, {"DialCallStatus": FIELD_INVALID}),
        (STATUS, {"CallSid": "CA" + "0" * 32}, {"CallStatus": FIELD_REQUIRED}),
        (STATUS, {"CallSid": "CA" + "0" * 32, "CallStatus": "exploded"}, {"CallStatus": FIELD_INVALID}),
        (
            STATUS,
            {"CallSid": "CA" + "0" * 32, "CallStatus": "completed", "CallDuration": "-1"},
            {"CallDuration": DURATION_INVALID},
        ),
        (
            STATUS,
            {"CallSid": "CA" + "0" * 32, "CallStatus": "completed", "CallDuration": "99999999999999999999"},
            {"CallDuration": DURATION_INVALID},
        ),
        (
            STATUS,
            {"CallSid": "CA" + "0" * 32, "RecordingUrl": "https://evil.example/r.mp3"},
            {"RecordingUrl": RECORDING_URL_INVALID},
        ),
        (
            STATUS,
            {"CallSid": "CA" + "0" * 32, "RecordingUrl": "javascript:alert(1)//.twilio.com"},
            {"RecordingUrl": RECORDING_URL_INVALID},
        ),
    ],
)
def test_signed_but_bad_fields_get_a_400_with_a_message_per_field(client, team, path, params, errors):
    response = twilio_post(client, path, params)
    assert response.status_code == 400, response.content
    if errors is not None:
        assert response.json() == errors
    else:
        assert set(response.json()) == {"from"}
    assert not Call.objects.exists()


def test_a_field_sent_twice_is_refused(client, team):
    params = [
        ("AccountSid", ACCOUNT_SID),
        ("CallSid", sid()),
        ("From", CALLER),
        ("From", "+442079460999"),
        ("To", TEAM_LINE),
    ]
    header = signature("http://testserver" + VOICE, QueryDict(urlencode(params)))  # both values signed, as Twilio does
    response = client.post(
        VOICE, urlencode(params), content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=header
    )
    assert (response.status_code, response.json()) == (400, {"From": FIELD_REPEATED})


def test_unsigned_bad_fields_are_a_403_not_a_400(client, team):
    response = twilio_post(client, STATUS, {"CallSid": "bad", "CallStatus": "exploded"}, sign=False)
    assert response.status_code == 403


def test_a_json_body_is_not_read_as_fields(client, team):
    body = {"AccountSid": ACCOUNT_SID, "CallSid": sid(), "From": CALLER, "To": TEAM_LINE}
    response = client.post(
        VOICE,
        body,
        content_type="application/json",
        HTTP_X_TWILIO_SIGNATURE=signature("http://testserver" + VOICE, body),
    )
    assert response.status_code == 403  # signed over fields it did not send as a form


def test_only_post(client, team):
    assert client.get(VOICE).status_code == 405


def test_a_flood_of_unsigned_posts_is_limited_per_address(client, team, settings):
    settings.WEBHOOK_UNSIGNED_RATE = "3/m"
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"  # a fresh counter for this test
    codes = [
        twilio_post(client, VOICE, {"CallSid": sid()}, sign=False, REMOTE_ADDR=address).status_code for _ in range(5)
    ]
    assert codes == [403, 403, 403, 429, 429]
    last = twilio_post(client, VOICE, {"CallSid": sid()}, sign=False, REMOTE_ADDR=address)
    assert last.json() == {"detail": RATE_LIMITED}
    # Twilio's own signed calls are counted apart, and still ring.
    assert inbound(client, caller=CALLER, REMOTE_ADDR=address).status_code == 200


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from([VOICE, DIAL, STATUS]),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "CallSid",
                "From",
                "To",
                "Direction",
                "DialCallStatus",
                "DialCallSid",
                "CallStatus",
                "CallDuration",
                "RecordingUrl",
                "RecordingSid",
                "RecordingDuration",
                "RecordingStatus",
            ]
        ),
        text,
        max_size=8,
    ),
    known_call=st.booleans(),
)
def test_any_signed_form_gets_a_2xx_or_4xx(client, team, path, fields, known_call):
    if known_call:  # half of them about a real call, so the routing and the callbacks see the rest
        fields["CallSid"] = "CA" + "f" * 32
        if not Call.objects.filter(call_id=fields["CallSid"]).exists():
            inbound(client, caller=CALLER, call_sid=fields["CallSid"])
    response = twilio_post(client, path, fields)
    assert response.status_code in (200, 400, 404, 409), (response.status_code, fields, response.content)
