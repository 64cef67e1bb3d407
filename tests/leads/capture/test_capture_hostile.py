"""Hostile JSON at the edge (leads/common/safejson.py): every case the outside tests turned into a 500 is a
400 with a message (per field where there is one), and nothing is half written."""

import json

import pytest

from leads.capture.cleaning import NOTHING_TO_CAPTURE
from leads.common.safejson import LONE_SURROGATE, NON_FIELD, NUL_IN_KEY, NUMBER_TOO_LARGE, TOO_DEEP, json_depth
from leads.models import CaptureRecord, Lead

from .test_webforms import submission, web_form  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

URL = "/api/v1/capture"


@pytest.fixture
def api(api_as, manager):
    return api_as(manager)


def post_raw(api, body: bytes):
    return api.generic("POST", URL, body, content_type="application/json")


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (b'{"email": "a@example.com", "first_name": "\\ud800"}', {"first_name": [LONE_SURROGATE]}),
        (b'{"email": "a@example.com", "attributes": {"k": ["x", "\\udfff"]}}', {"attributes.k.1": [LONE_SURROGATE]}),
        (b'{"email": "a@example.com", "attributes": {"\\ud800": 1}}', {"attributes": [LONE_SURROGATE]}),
        (b'{"email": "a@example.com", "message": "\\udc80"}', {"message": [LONE_SURROGATE]}),
        (b'{"email": "a@example.com", "attributes": {"n": ' + b"9" * 5000 + b"}}", {NON_FIELD: [NUMBER_TOO_LARGE]}),
        (b'{"email": "a@example.com", "attributes": {"n": 1e400}}', {NON_FIELD: [NUMBER_TOO_LARGE]}),
        (b'{"email": "a@example.com", "attributes": {"n": -Infinity}}', {NON_FIELD: [NUMBER_TOO_LARGE]}),
        (b'{"email": "a@example.com", "a\\u0000b": 1}', {NON_FIELD: [NUL_IN_KEY]}),
        (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, {NON_FIELD: [TOO_DEEP]}),
        (b"[" * 500 + b"]" * 500, {NON_FIELD: [TOO_DEEP]}),
    ],
    ids=[
        "name",
        "attribute-list",
        "attribute-key",
        "message",
        "5000-digits",
        "1e400",
        "infinity",
        "nul-key",
        "deep-100k",
        "deep-500",
    ],
)
def test_hostile_json_is_a_400_with_the_fields_message(api, body, errors):
    """Broke: each of these was a 500 (jsonb refusing Infinity and surrogates, RecursionError on nesting,
    a NUL key reaching the database inside the rejection reason)."""
    response = post_raw(api, body)
    assert response.status_code == 400
    assert response.json() == errors
    assert not Lead.objects.exists()


def test_an_empty_capture_makes_no_lead(api):
    """Broke: POST {} created an empty lead."""
    for body in (b"{}", b'{"email": "", "tags": [], "attributes": {}}', b'{"source": "api"}'):
        response = post_raw(api, body)
        assert response.status_code == 400
        assert response.json() == {NON_FIELD: [NOTHING_TO_CAPTURE]}
    assert not Lead.objects.exists()
    assert CaptureRecord.objects.filter(result=CaptureRecord.Result.REJECTED).count() == 3


def test_a_capture_with_an_unknown_nul_field_keeps_nul_out_of_the_rejection_reason(api):
    """The NUL is refused at the edge; even a reason built from field names cannot carry one."""
    response = post_raw(api, b'{"email": "a@example.com", "x\\u0000": 1}')
    assert response.status_code == 400
    assert all("\x00" not in reason for reason in CaptureRecord.objects.values_list("reason", flat=True))


def test_a_nul_in_the_source_detail_or_user_agent_is_a_400_and_the_rejection_is_recorded(api):
    """Schemathesis found it: the rejection's own record kept the NUL and PostgreSQL refused it (a 500)."""
    response = api.generic(
        "POST",
        URL,
        b'{"email": "a@example.com", "source_detail": "fair\\u0000"}',
        content_type="application/json",
        HTTP_USER_AGENT="bot\x00",
    )
    assert response.status_code == 400, response.content
    assert "source_detail" in response.json()
    record = CaptureRecord.objects.get(result=CaptureRecord.Result.REJECTED)
    assert (record.source_detail, record.user_agent) == ("fair", "bot")
    assert not Lead.objects.exists()


def test_the_capture_api_takes_json_only(api):
    """It advertised form and multipart bodies that it could not really read."""
    response = api.post(URL, {"email": "form@example.com"})  # multipart
    assert response.status_code == 415
    assert not Lead.objects.exists()


def test_depth_is_counted_without_recursion_and_ignores_strings():
    assert json_depth('{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert json_depth("[" * 100_000) == 100_000


def test_a_web_form_posted_as_json_refuses_surrogates_per_field(client, web_form):  # noqa: F811
    body = json.dumps(submission(web_form, first_name="\ud800")).encode()
    response = client.generic(
        "POST",
        "/f/pricing",
        body,
        content_type="application/json",
        HTTP_ACCEPT="application/json",
        HTTP_ORIGIN="https://www.example.com",
    )
    assert response.status_code == 400
    assert response.json() == {"first_name": [LONE_SURROGATE]}
    assert not Lead.objects.exists()
