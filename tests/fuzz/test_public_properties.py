"""Property tests over the public ways in (web form, capture API, webhook, tracking, raw email):
arbitrary text (lone surrogates included), nesting and numbers get a 2xx or a 4xx, never a 5xx,
and never a half-written lead (every lead has its capture record and its timeline entry).

FUZZ_EXAMPLES sets the examples per property (default 30, CI-sized)."""

import base64
import hashlib
import hmac
import json
import os
import time

import pytest
from django.core import signing
from django.core.cache import cache
from django.db.models import Exists, OuterRef
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.capture.webforms import _SALT, TIMESTAMP_FIELD
from leads.models import CaptureRecord, Interaction, Lead, TrackingSite, WebForm, WebhookSource
from tests.factories import WebFormFactory, WebhookSourceFactory

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)

# Every code point, lone surrogates and controls included (Hypothesis leaves surrogates out by default).
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)
numbers = st.integers() | st.floats() | st.sampled_from([-(10**30), 2**64, 1e308, 5e-324])
scalars = st.none() | st.booleans() | numbers | any_text
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4), max_leaves=12
)
FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "website",
    "country",
    "attributes",
    "tags",
    "message",
    "source",
    "external_id",
]
lead_bodies = st.dictionaries(st.sampled_from(FIELDS) | any_text, json_values, max_size=6)


def dumps(value) -> bytes:
    """JSON as a careless client writes it: NaN/Infinity and huge numbers as they come, surrogates escaped."""
    return json.dumps(value).encode()


def deep(depth: int, opener: bytes = b"[") -> bytes:
    closer = b"]" if opener == b"[" else b"}"
    if opener == b"{":
        return b'{"a": ' * depth + b"1" + closer * depth
    return opener * depth + closer * depth


hostile_bodies = st.one_of(
    lead_bodies.map(dumps),
    json_values.map(dumps),
    st.builds(deep, st.integers(1, 100_000), st.sampled_from([b"[", b"{"])),
    st.binary(max_size=200),
    st.sampled_from(
        [
            b'{"email": "a@example.com", "attributes": {"n": ' + b"9" * 5000 + b"}}",
            b'{"email": "a@example.com", "n": 1e400}',
        ]
    ),
)


def no_half_written_lead() -> bool:
    """Every lead has the capture record and the timeline entry that capture writes with it."""
    records = CaptureRecord.objects.filter(lead=OuterRef("pk"))
    entries = Interaction.objects.filter(lead=OuterRef("pk"))
    return not Lead.objects.filter(~Exists(records) | ~Exists(entries)).exists()


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.WEBHOOK_RATE = settings.WEBHOOK_UNSIGNED_RATE = settings.TRACKING_RATE = "100000/m"
    cache.clear()
    yield
    cache.clear()


@FUZZ
@given(body=hostile_bodies)
def test_the_capture_api_answers_2xx_or_4xx(api_as, manager, body):
    response = api_as(manager).generic("POST", "/api/v1/capture", body, content_type="application/json")
    assert response.status_code < 500
    assert no_half_written_lead()


@pytest.fixture
def web_form(db):
    return WebFormFactory(
        name="Fuzz form",
        key="fuzz",
        fields=["first_name", "last_name", "email", "company", "phone", "message"],
        required_fields=["email"],
        allowed_hosts=["www.example.com"],
        rate_limit="100000/m",
        min_fill_seconds=0,
    )


def stamp(form: WebForm) -> str:
    return signing.dumps({"k": form.key, "t": time.time() - 10}, salt=_SALT, compress=True)


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(FIELDS[:6]) | any_text, any_text, max_size=6), as_json=st.booleans())
def test_the_web_form_answers_2xx_or_4xx(client, web_form, fields, as_json):
    data = {**fields, TIMESTAMP_FIELD: stamp(web_form)}
    if as_json:
        response = client.generic(
            "POST",
            "/f/fuzz",
            dumps(data),
            content_type="application/json",
            HTTP_ACCEPT="application/json",
            HTTP_ORIGIN="https://www.example.com",
        )
    else:
        safe = {
            key.encode("utf-8", "replace").decode(): value.encode("utf-8", "replace").decode()
            for key, value in data.items()
        }
        response = client.post("/f/fuzz", safe, HTTP_ORIGIN="https://www.example.com")
    assert response.status_code < 500
    assert no_half_written_lead()


@FUZZ
@given(body=hostile_bodies)
def test_the_web_form_takes_any_json_body(client, web_form, body):
    response = client.generic(
        "POST",
        "/f/fuzz",
        body,
        content_type="application/json",
        HTTP_ACCEPT="application/json",
        HTTP_ORIGIN="https://www.example.com",
    )
    assert response.status_code < 500
    assert no_half_written_lead()


@pytest.fixture
def webhook_source(team):
    return WebhookSourceFactory(
        name="Fuzz hook",
        channel=WebhookSource.Channel.OTHER,
        team=team,
        mapping={"email": "email", "first_name": "name", "attributes.extra": "extra"},
    )


@FUZZ
@given(body=hostile_bodies | lead_bodies.map(lambda d: dumps({**d, "email": "hook@example.com"})))
def test_a_signed_webhook_answers_2xx_or_4xx(client, webhook_source, body):
    signature = "sha256=" + hmac.new(webhook_source.secret.encode(), body, hashlib.sha256).hexdigest()
    response = client.generic(
        "POST",
        f"/api/v1/capture/webhook/{webhook_source.key}",
        body,
        content_type="application/json",
        HTTP_X_LEADCRM_SIGNATURE=signature,
    )
    assert response.status_code < 500
    assert no_half_written_lead()


@FUZZ
@given(
    body=hostile_bodies
    | json_values.map(lambda v: dumps({"url": "https://www.example.com/", "visitor": "v" * 32, "title": v}))
)
def test_tracking_answers_2xx_or_4xx(client, body):
    site = TrackingSite.objects.get_or_create(
        key="fuzzsite", defaults={"name": "Fuzz", "allowed_hosts": ["www.example.com"]}
    )[0]
    response = client.generic(
        "POST", f"/t/{site.key}/collect", body, content_type="text/plain", HTTP_ORIGIN="https://www.example.com"
    )
    assert response.status_code < 500


def encoded_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode("utf-8", "surrogatepass")).decode() + "?="


@FUZZ
@given(name=any_text, subject=any_text, body=any_text, nesting=st.integers(0, 3000), counter=st.integers(0, 10**9))
def test_raw_email_answers_2xx_or_4xx(api_as, manager, name, subject, body, nesting, counter):
    raw = (
        f"From: {encoded_word(name)} <fuzz{counter}@example-co.example>\r\nTo: sales@leadcrm.test\r\n"
        f"Subject: {encoded_word(subject)}\r\nMessage-ID: <fuzz{counter}-{nesting}@x>\r\nMIME-Version: 1.0\r\n"
    ).encode()
    raw += b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n) for n in range(nesting))
    raw += b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body.encode("utf-8", "surrogatepass") + b"\r\n"
    response = api_as(manager).post("/api/v1/capture/email", data=raw, content_type="message/rfc822")
    assert response.status_code < 500
    assert no_half_written_lead()
