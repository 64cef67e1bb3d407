"""Twilio as it really calls: form posts signed with twilio's own RequestValidator, over the real
routing (PostgreSQL). A team line with two reps who can always take a call."""

import uuid
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from tests.leads.distribution.conftest import agent, make_team, territory

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-test-auth-token-0123456789"
TEAM_LINE = "+442079460000"
REP1_PHONE, REP2_PHONE = "+442079460001", "+442079460002"
ALWAYS = {str(day): ["00:00", "24:00"] for day in range(7)}  # so the real clock never matters here
VOICE, DIAL, STATUS = "/telephony/twilio/voice", "/telephony/twilio/dial", "/telephony/twilio/status"


def sid(prefix: str = "CA") -> str:
    """A fresh Twilio SID: the prefix and 32 hex characters."""
    return prefix + uuid.uuid4().hex


def signature(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature exactly as Twilio computes it."""
    return RequestValidator(token).compute_signature(url, params)


def twilio_post(
    client: Client,
    path: str,
    params: dict,
    *,
    url: str | None = None,
    token: str = AUTH_TOKEN,
    sign: bool = True,
    **headers,
):
    """POST the form as Twilio does (urlencoded, AccountSid included), signed for `url`
    (default: the URL the test client calls)."""
    params = {"AccountSid": ACCOUNT_SID, **params}
    if sign:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature(url or f"http://testserver{path}", params, token)
    return client.post(path, urlencode(params), content_type="application/x-www-form-urlencoded", **headers)


def inbound(client: Client, *, caller: str, call_sid: str | None = None, to: str = TEAM_LINE, **extra):
    """Twilio's "a call comes in" request."""
    params = {
        "CallSid": call_sid or sid(),
        "From": caller,
        "To": to,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "Caller": caller,
        "Called": to,
        "FromCountry": "GB",
        "ToCountry": "GB",
    }
    return twilio_post(client, VOICE, {**params, **extra})


def twiml(response) -> ElementTree.Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Response"
    return root


@pytest.fixture(autouse=True)
def twilio_account(settings):
    """The account in the environment's settings; limits out of the way (a test sets its own)."""
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, AUTH_TOKEN
    settings.TWILIO_PUBLIC_BASE_URL = ""
    settings.TRUSTED_PROXIES = []
    settings.TWILIO_RATE = settings.WEBHOOK_UNSIGNED_RATE = "100000/m"
    settings.TWILIO_RING_SECONDS = 20


@pytest.fixture
def client():
    """A browser-less client that checks CSRF as a real request would (Twilio sends no token)."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def team(db):
    team, (rep1, rep2) = make_team("Inside Sales", "rep1", "rep2", phone_numbers=[TEAM_LINE])
    agent(rep1, phone=REP1_PHONE, working_hours=ALWAYS)
    agent(rep2, phone=REP2_PHONE, working_hours=ALWAYS)
    territory("Everywhere", team, catch_all=True)
    return team
