"""Hostile raw email: lone surrogates in encoded words and thousands of nested parts are stored
(processed, or kept as malformed for review), never a 500, a RecursionError or a temp-failure exit."""

import base64
import io

import pytest
from django.core.management import call_command

from leads.capture.email.parse import MAX_MULTIPART_BOUNDARIES, TOO_MANY_PARTS
from leads.models import CaptureRecord, InboundEmail, Lead

pytestmark = pytest.mark.django_db

LONE = "\ud800"


def encoded_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode("utf-8", "surrogatepass")).decode() + "?="


def surrogate_message(message_id: str = "<lone@example-co.example>") -> bytes:
    return (
        f"From: {encoded_word('Ann ' + LONE)} <ann@example-co.example>\r\nTo: sales@leadcrm.test\r\n"
        f"Subject: {encoded_word('Prices ' + LONE)}\r\nMessage-ID: {message_id}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(("Hello " + LONE).encode("utf-8", "surrogatepass")).decode()
        + "\r\n"
    ).encode()


def nested_message(depth: int, *, kind: str = "multipart") -> bytes:
    head = [b"From: deep@example-co.example\r\nTo: sales@leadcrm.test\r\nMessage-ID: <deep@x>\r\nMIME-Version: 1.0\r\n"]
    tail = []
    for level in range(depth):
        if kind == "multipart":
            head.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level, level))
            tail.insert(0, b"\r\n--b%d--\r\n" % level)
        else:
            head.append(b"Content-Type: message/rfc822\r\n\r\nFrom: x@example.com\r\n")
    return b"".join(head) + b"Content-Type: text/plain\r\n\r\nhi\r\n" + b"".join(tail)


def test_lone_surrogates_in_encoded_words_are_replaced_not_a_500(api_as, manager):
    """Broke: an encoded word decoding to a lone surrogate reached the database (500 from the API,
    a crash of ingest_email)."""
    response = api_as(manager).post("/api/v1/capture/email", data=surrogate_message(), content_type="message/rfc822")
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert lead.email == "ann@example-co.example" and "\ufffd" in lead.first_name + lead.last_name
    assert InboundEmail.objects.get().subject.startswith("Prices \ufffd")


@pytest.mark.parametrize("kind", ["multipart", "message"])
def test_thousands_of_nested_parts_are_stored_as_malformed(api_as, manager, kind):
    """Broke: 3,000 nested multiparts made the stdlib parser raise RecursionError: a 500."""
    response = api_as(manager).post(
        "/api/v1/capture/email", data=nested_message(3000, kind=kind), content_type="message/rfc822"
    )
    assert response.status_code == 202
    assert response.json()["reason"] == TOO_MANY_PARTS.format(max=MAX_MULTIPART_BOUNDARIES)
    assert InboundEmail.objects.get().kind == InboundEmail.Kind.MALFORMED
    assert CaptureRecord.objects.get().result == CaptureRecord.Result.FAILED
    assert not Lead.objects.exists()


def test_the_pipe_command_stores_hostile_messages_and_exits_zero(tmp_path):
    """Broke: ingest_email exited non-zero on these, so the mail server retried them forever."""
    files = [tmp_path / "lone.eml", tmp_path / "deep.eml"]
    files[0].write_bytes(surrogate_message("<pipe@x>"))
    files[1].write_bytes(nested_message(5000))
    out = io.StringIO()
    call_command("ingest_email", *map(str, files), stdout=out)  # no CommandError: exit code 0
    assert "2 message(s) taken" in out.getvalue()
    assert set(InboundEmail.objects.values_list("kind", flat=True)) == {
        InboundEmail.Kind.NEW_LEAD,
        InboundEmail.Kind.MALFORMED,
    }


def test_a_modest_nesting_is_still_read():
    from leads.capture.email import email_parse

    parsed = email_parse(raw=nested_message(20))
    assert parsed.fatal == "" and parsed.body == "hi"
