"""The email channel's edges: parsing helpers, the API, the pipe command and admin.

The corpus in emails/ holds real-world shapes of mail, odd and hostile ones included.
"""

import io
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import OperationalError
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from leads.capture.email import (
    email_ingest,
    email_parse,
    name_split,
    signature_extract,
)
from leads.capture.email import ingest as email_channel  # the module whose capture() a test replaces
from leads.models import InboundEmail, Lead
from tests.factories import LeadFactory, UserFactory
from tests.leads.capture.email.email_mail import API_URL, EMAILS, corpus, message

# --- Parsing helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "display, expected",
    [
        ("Jane Doe", ("Jane", "Doe")),
        ("Doe, Jane", ("Jane", "Doe")),
        ("JANE DOE", ("Jane", "Doe")),
        ("Dr. Mary Ann Smith Jr.", ("Mary Ann", "Smith Jr.")),
        ("jane@example.com", ("", "")),
        ("", ("", "")),
    ],
)
def test_names_are_split_into_first_and_last(display, expected):
    assert name_split(display) == expected


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            "Hi,\nplease call me.\n\n-- \nMark Lee | VP Sales | Northwind Traders Inc.\nm: +1 (212) 736-5000\n",
            {"phone": "+12127365000", "company": "Northwind Traders Inc."},
        ),
        (
            "Hello\n\nKind regards,\nAnna Berg\nCTO, Fjord Analytics\nFax: +44 20 7946 0000\nMobile: +44 20 7946 0958",
            {"phone": "+442079460958", "job_title": "CTO", "company": "Fjord Analytics"},
        ),
        ("Just a question, call +1 212 736 5000 if needed? No signature here.", {}),
        (
            "Thanks!\n\nOn Mon, Jan 1, 2024 at 9:00 AM Bob <bob@x.example> wrote:\n> Best regards,\n> Bob\n> +1 212 736 5000",
            {},
        ),
    ],
)
def test_signatures_give_phone_company_and_title(body, expected):
    found = signature_extract(body=body, first_name="Anna" if "Anna" in body else "Mark", last_name="Berg")
    assert {key: found.get(key) for key in expected} == expected
    if not expected:
        assert found == {}


def test_parsing_never_raises_on_garbage():
    for raw in (
        b"",
        b"\x00\x00",
        b"From:\r\n\r\n",
        b'Content-Type: multipart/mixed; boundary="\r\n\r\n--\r\n',
        b"From: =?x-unknown?q?=FF?= <a@b.example>\r\nSubject: =?utf-8?b?!!!?=\r\n\r\nx",
        "Ä".encode() * 10_000,
    ):
        parsed = email_parse(raw=raw)
        assert isinstance(parsed.fatal, str)


header_lines = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "From",
                "To",
                "Cc",
                "Subject",
                "Content-Type",
                "Content-Transfer-Encoding",
                "Message-ID",
                "References",
                "In-Reply-To",
                "Date",
                "Auto-Submitted",
                "X-Junk",
            ]
        ),
        st.binary(max_size=80),
    ),
    max_size=8,
)


@settings_hypothesis(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headers=header_lines, body=st.binary(max_size=400))
def test_parsing_never_raises_whatever_the_headers_and_body(headers, body):
    raw = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers) + b"\r\n" + body

    parsed = email_parse(raw=raw)

    assert parsed.fatal or parsed.from_address  # readable mail always has a sender
    assert "\x00" not in parsed.body + parsed.subject + parsed.from_name


# --- The API ------------------------------------------------------------------------------------


def post_email(client, raw: bytes, content_type: str = "message/rfc822"):
    return client.post(API_URL, data=raw, content_type=content_type)


@pytest.mark.django_db
def test_the_api_creates_a_lead_from_a_raw_message(api_as, manager):
    response = post_email(api_as(manager), corpus("multipart_alternative.eml"))

    assert response.status_code == 201
    body = response.json()
    lead = Lead.objects.get(email="jane.doe@acme-widgets.example")
    assert body == {
        "kind": "new_lead",
        "lead": lead.pk,
        "created": True,
        "duplicate": False,
        "inbound_email": InboundEmail.objects.get().pk,
        "linked_leads": [],
        "reason": "",
    }
    assert lead.source_detail == "api"


@pytest.mark.django_db
def test_the_api_answers_200_for_attached_ignored_and_repeated_mail(api_as, manager):
    client = api_as(manager)
    gone = LeadFactory(email="gone@vanished.example")

    attached = post_email(client, corpus("multipart_alternative.eml"))
    attached_again = post_email(client, corpus("multipart_alternative.eml"))
    bounce = post_email(client, corpus("bounce_dsn.eml"))
    auto = post_email(client, corpus("auto_reply.eml"))

    assert attached.status_code == 201
    assert attached_again.status_code == 200 and attached_again.json()["duplicate"] is True
    assert bounce.status_code == 200 and bounce.json()["kind"] == "bounce" and bounce.json()["lead"] == gone.pk
    assert auto.status_code == 200 and auto.json()["kind"] == "auto_reply" and auto.json()["lead"] is None


@pytest.mark.django_db
def test_the_api_accepts_malformed_mail_for_review_with_202(api_as, manager):
    response = post_email(api_as(manager), corpus("broken_mime.eml"))

    assert response.status_code == 202
    assert response.json()["kind"] == "malformed" and response.json()["lead"] is None
    assert InboundEmail.objects.get().kind == InboundEmail.Kind.MALFORMED


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/octet-stream"])
def test_the_api_refuses_other_content_types_with_415(api_as, manager, content_type):
    response = post_email(api_as(manager), corpus("multipart_alternative.eml"), content_type)

    assert response.status_code == 415
    assert not InboundEmail.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [b"", b"\r\n  \r\n"])
def test_the_api_refuses_an_empty_body_with_400(api_as, manager, raw):
    response = post_email(api_as(manager), raw)

    assert response.status_code == 400
    assert response.json() == {"detail": "Send the raw message as the request body."}


@pytest.mark.django_db
def test_the_api_refuses_an_oversized_message_with_413(api_as, manager):
    raw = message(body="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1))

    response = post_email(api_as(manager), raw)

    assert response.status_code == 413
    assert not InboundEmail.objects.exists()


@pytest.mark.django_db
def test_the_api_needs_a_token_and_a_role(client, api_as):
    anonymous = client.post(API_URL, data=message(), content_type="message/rfc822")
    no_role = post_email(api_as(UserFactory(username="outsider")), message())

    assert anonymous.status_code == 401 and no_role.status_code == 403
    assert not InboundEmail.objects.exists()


@pytest.mark.django_db
def test_the_endpoint_is_in_the_openapi_schema(api_as, manager):
    response = api_as(manager).get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    operation = response.json()["paths"]["/api/v1/capture/email"]["post"]
    assert "message/rfc822" in operation["requestBody"]["content"]
    assert {"200", "201", "202", "400", "413", "415"} <= set(operation["responses"])


# --- The pipe command -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_takes_a_batch_of_files_and_a_bad_one_does_not_stop_the_rest():
    files = [
        EMAILS / name
        for name in (
            "multipart_alternative.eml",
            "broken_mime.eml",
            "not_an_email.eml",
            "auto_reply.eml",
            "header_8bit.eml",
        )
    ]
    out = io.StringIO()

    call_command("ingest_email", *map(str, files), stdout=out)

    assert set(Lead.objects.values_list("email", flat=True)) == {
        "jane.doe@acme-widgets.example",
        "joerg.mueller@beispiel-gmbh.de",
    }
    assert InboundEmail.objects.filter(kind=InboundEmail.Kind.MALFORMED).count() == 2
    assert Lead.objects.get(email="jane.doe@acme-widgets.example").source_detail == "pipe"
    assert "5 message(s) taken: 1 auto_reply, 2 malformed, 2 new_lead; 0 failed." in out.getvalue()


@pytest.mark.django_db
def test_the_command_reads_one_message_from_standard_input():
    out = io.StringIO()

    envelope = b"From zoe@nordic-design.example  Fri Jan  5 14:00:00 2024\n"  # as some pipes prepend

    call_command("ingest_email", stdin=io.BytesIO(envelope + corpus("encoded_words.eml")), stdout=out)

    assert Lead.objects.get(email="zoe@nordic-design.example").first_name == "Zoë"
    assert out.getvalue().startswith("<stdin>: new_lead lead #")


@pytest.mark.django_db
def test_the_command_exits_with_tempfail_when_a_message_could_not_be_stored(monkeypatch, tmp_path):
    real_ingest = email_channel.email_ingest

    def database_away_for_one(*, raw, **kwargs):
        if b"Jane Doe" in raw:
            raise OperationalError("connection to server was lost")
        return real_ingest(raw=raw, **kwargs)

    monkeypatch.setattr("leads.management.commands.ingest_email.email_ingest", database_away_for_one)
    err = io.StringIO()

    with pytest.raises(CommandError) as failure:
        call_command(
            "ingest_email",
            str(EMAILS / "multipart_alternative.eml"),
            str(tmp_path / "missing.eml"),
            str(EMAILS / "html_only.eml"),
            stdout=io.StringIO(),
            stderr=err,
        )

    assert failure.value.returncode == 75  # EX_TEMPFAIL: the mail server keeps the message and retries
    assert "2 message(s) could not be stored" in str(failure.value)
    assert Lead.objects.filter(email="carlos@ruiz-logistica.es").exists()  # the batch went on
    assert "multipart_alternative.eml: not stored" in err.getvalue() and "missing.eml: not read" in err.getvalue()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_mail_server_can_pipe_a_message_into_manage_py():
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the subprocess needs a database server it can share with the test")

    with open(EMAILS / "reply_to_outbound.eml", "rb") as stdin:
        done = subprocess.run(
            [sys.executable, "manage.py", "ingest_email"],
            stdin=stdin,
            capture_output=True,
            timeout=60,
            cwd=settings.BASE_DIR,
            env=env,
        )

    assert done.returncode == 0, done.stderr.decode()
    lead = Lead.objects.get(email="sam.reed@harbor-foods.example")
    assert (lead.first_name, lead.company, lead.source_detail) == ("Sam", "Harbor Foods Co.", "pipe")


# --- Admin ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admins_review_malformed_mail_in_the_inbound_email_list(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    email_ingest(raw=corpus("broken_mime.eml"))
    inbound = InboundEmail.objects.get()

    listing = client.get("/admin/leads/inboundemail/", {"kind__exact": "malformed"})
    detail = client.get(f"/admin/leads/inboundemail/{inbound.pk}/change/")

    assert listing.status_code == 200 and "lena@fischer-bau.example" in listing.content.decode()
    assert detail.status_code == 200 and f"Capture record #{inbound.capture_id}" in detail.content.decode()
