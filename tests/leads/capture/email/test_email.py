"""The email channel: what a message becomes, through the service, the API and the pipe command.

The corpus in emails/ holds real-world shapes of mail, odd and hostile ones included.
"""

import base64
import threading

import pytest
from django.db import DataError, connection

from leads.capture.email import (
    BROKEN_MIME,
    NO_SENDER,
    STORE_FAILED,
    UNKNOWN_CHARSET,
    email_ingest,
)
from leads.capture.email import ingest as email_channel  # the module whose capture() a test replaces
from leads.models import CaptureRecord, InboundEmail, Interaction, Lead
from tests.factories import LeadFactory, MailboxFactory, OutboundMessageFactory
from tests.leads.capture.email.email_mail import corpus, counts, message

# --- New leads from odd and hostile mail -----------------------------------------------------


@pytest.mark.django_db
def test_an_unknown_sender_becomes_a_lead_with_name_phone_company_and_title():
    result = email_ingest(raw=corpus("multipart_alternative.eml"), source_detail="pipe")

    assert result.kind == InboundEmail.Kind.NEW_LEAD and result.created
    lead = Lead.objects.get(email="jane.doe@acme-widgets.example")
    assert (lead.first_name, lead.last_name) == ("Jane", "Doe")
    assert (lead.phone, lead.company, lead.job_title) == ("+49301234567", "Acme Widgets GmbH", "Head of Procurement")
    assert (lead.source, lead.source_detail) == (Lead.Source.EMAIL, "pipe")
    entry = lead.interactions.get(kind=Interaction.Kind.EMAIL_IN)
    assert entry.subject == "Quote for 500 widgets"
    assert "500 blue widgets" in entry.body and "<b>" not in entry.body  # text/plain preferred over HTML
    assert entry.data["message_id"] == "<CAF1234567890.alt@mail.acme-widgets.example>"
    record = CaptureRecord.objects.get(lead=lead)
    assert record.result == CaptureRecord.Result.CREATED
    assert "Content-Type: multipart/alternative" in record.raw
    inbound = InboundEmail.objects.get(message_id="<CAF1234567890.alt@mail.acme-widgets.example>")
    assert (inbound.kind, inbound.lead, inbound.capture) == (InboundEmail.Kind.NEW_LEAD, lead, record)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, email, expected",
    [
        (
            "html_only.eml",
            "carlos@ruiz-logistica.es",
            {
                "first_name": "Carlos",
                "last_name": "Ruiz",
                "phone": "+34912345678",
                "company": "Ruiz Logística",
                "job_title": "Director Comercial",
            },
        ),
        (
            "header_8bit.eml",
            "joerg.mueller@beispiel-gmbh.de",
            {
                "first_name": "Jörg",
                "last_name": "Müller",
                "phone": "+4922112345678",
                "company": "Beispiel GmbH",
                "job_title": "Geschäftsführer",
            },
        ),
        (
            "encoded_words.eml",
            "zoe@nordic-design.example",
            {
                "first_name": "Zoë",
                "last_name": "Ångström",
                "phone": "+46812345678",
                "company": "Nordic Design AB",
                "job_title": "Design Lead",
            },
        ),
        (
            "attachment.eml",
            "priya@brightpath.example",
            {
                "first_name": "Priya",
                "last_name": "Patel",
                "phone": "+442079460958",
                "company": "BrightPath Inc.",
                "job_title": "VP Operations",
            },
        ),
        ("invalid_utf8.eml", "francois@levesque-conseil.example", {"first_name": "François", "last_name": "Lévesque"}),
        ("nul_bytes.eml", "nina@zero-bytes.example", {"first_name": "Nina", "last_name": "Null"}),
        (
            "hostile_content_type.eml",
            "rita@gomez-textiles.example",
            {
                "first_name": "Rita",
                "last_name": "Gomez",
                "phone": "+34912345678",
                "company": "Gomez Textiles S.L.",
                "job_title": "Buyer",
            },
        ),
    ],
)
def test_odd_but_readable_mail_still_makes_a_proper_lead(name, email, expected):
    result = email_ingest(raw=corpus(name), source_detail="pipe")

    assert result.created, result
    lead = Lead.objects.get(email=email)
    assert {key: getattr(lead, key) for key in expected} == expected


@pytest.mark.django_db
def test_an_html_only_message_is_read_as_text_without_markup_or_scripts():
    email_ingest(raw=corpus("html_only.eml"))

    entry = Interaction.objects.get(kind=Interaction.Kind.EMAIL_IN)
    assert entry.subject == "Información sobre precios"
    assert "¿Nos pueden enviar la lista de precios?" in entry.body
    assert "<div>" not in entry.body and "alert(" not in entry.body and "color: red" not in entry.body


@pytest.mark.django_db
def test_encoded_words_and_8bit_headers_are_decoded_on_the_timeline():
    email_ingest(raw=corpus("encoded_words.eml"))
    email_ingest(raw=corpus("header_8bit.eml"))

    subjects = set(Interaction.objects.filter(kind=Interaction.Kind.EMAIL_IN).values_list("subject", flat=True))
    assert subjects == {"Demo før oss 😊", "Anfrage für Schulung – Grüße aus Köln"}


@pytest.mark.django_db
def test_attachments_are_listed_on_the_timeline_entry():
    email_ingest(raw=corpus("attachment.eml"))

    entry = Interaction.objects.get(kind=Interaction.Kind.EMAIL_IN)
    assert entry.body.startswith("Please find our RFP attached.")
    assert entry.data["attachments"] == [
        {"filename": "RFP 2024 – final.pdf", "content_type": "application/pdf", "size": 48}
    ]


@pytest.mark.django_db
def test_nul_bytes_and_invalid_utf8_are_cleaned_not_fatal():
    email_ingest(raw=corpus("nul_bytes.eml"))
    email_ingest(raw=corpus("invalid_utf8.eml"))

    nina = Interaction.objects.get(lead__email="nina@zero-bytes.example", kind=Interaction.Kind.EMAIL_IN)
    assert "\x00" not in nina.body and nina.body == "We would like a demo." and nina.subject == "Null inside"
    francois = Interaction.objects.get(lead__email="francois@levesque-conseil.example", kind=Interaction.Kind.EMAIL_IN)
    assert "une démo" in francois.body  # mislabelled Windows-1252 text, read as such
    inbound = InboundEmail.objects.get(message_id="<invalid-utf8-1@levesque-conseil.example>")
    assert inbound.kind == InboundEmail.Kind.NEW_LEAD and "Windows-1252" in inbound.error


@pytest.mark.django_db
def test_a_header_the_modern_parser_crashes_on_is_read_with_compat32():
    """Python's policy.default raises IndexError on 'Content-Type: text/plain; format*'."""
    result = email_ingest(raw=corpus("hostile_content_type.eml"))

    assert result.created
    assert Interaction.objects.get(kind=Interaction.Kind.EMAIL_IN).body.startswith("Could you send fabric samples?")
    assert "compat32" in result.inbound.error


# --- Known leads, replies and copies ---------------------------------------------------------


@pytest.mark.django_db
def test_mail_from_a_known_lead_goes_on_its_timeline_and_fills_only_blank_fields():
    lead = LeadFactory(email="jane.doe@acme-widgets.example", company="Acme (typed by a rep)", phone="")

    result = email_ingest(raw=corpus("multipart_alternative.eml"))

    assert (result.kind, result.lead, result.created) == (InboundEmail.Kind.KNOWN_LEAD, lead, False)
    assert Lead.objects.count() == 1
    lead.refresh_from_db()
    assert lead.company == "Acme (typed by a rep)" and lead.phone == "+49301234567"
    assert lead.interactions.filter(kind=Interaction.Kind.EMAIL_IN, subject="Quote for 500 widgets").exists()
    assert CaptureRecord.objects.get().result == CaptureRecord.Result.MERGED


@pytest.mark.django_db
@pytest.mark.parametrize("stored_id", ["<out-quote-42@leadcrm.test>", "out-quote-42@leadcrm.test"])
def test_a_reply_to_a_message_we_sent_is_attached_to_that_lead(stored_id):
    sam = LeadFactory(email="sam.reed@harbor-foods.example", phone="")
    OutboundMessageFactory(message_id=stored_id, lead=sam, subject="Your widget quote")

    result = email_ingest(raw=corpus("reply_to_outbound.eml"))

    assert (result.kind, result.lead) == (InboundEmail.Kind.REPLY, sam)
    entry = sam.interactions.get(kind=Interaction.Kind.EMAIL_IN)
    assert entry.subject == "Re: Your widget quote" and entry.data["in_reply_to"] == "<out-quote-42@leadcrm.test>"
    sam.refresh_from_db()
    assert sam.phone == "+12127365000"  # from the signature, not the number in the quoted text


@pytest.mark.django_db
def test_a_reply_from_another_address_is_attached_to_the_threads_lead_and_makes_no_new_lead():
    sam = LeadFactory(email="sam.reed@harbor-foods.example")
    OutboundMessageFactory(message_id="<out-quote-42@leadcrm.test>", lead=sam)

    result = email_ingest(raw=corpus("reply_from_other_address.eml"))

    assert (result.kind, result.lead, result.created) == (InboundEmail.Kind.REPLY, sam, False)
    assert Lead.objects.count() == 1
    assert sam.interactions.filter(kind=Interaction.Kind.EMAIL_IN, body__contains="Monday works").exists()
    assert CaptureRecord.objects.get().result == CaptureRecord.Result.ATTACHED


@pytest.mark.django_db
def test_a_reply_in_a_thread_a_lead_started_by_email_finds_that_lead():
    email_ingest(raw=message(sender="Ann <ann@example-co.example>", message_id="<first@example-co.example>"))
    ann = Lead.objects.get(email="ann@example-co.example")

    result = email_ingest(
        raw=message(
            sender="Assistant <assistant@example-co.example>",
            message_id="<second@example-co.example>",
            headers="In-Reply-To: <unrelated@elsewhere.example>\nReferences: <first@example-co.example> <unrelated@elsewhere.example>",
        )
    )

    assert (result.kind, result.lead) == (InboundEmail.Kind.REPLY, ann)
    assert ann.interactions.filter(kind=Interaction.Kind.EMAIL_IN).count() == 2


@pytest.mark.django_db
def test_copied_addresses_that_are_known_leads_get_the_message_too():
    mark = LeadFactory(email="mark.stone@greenleaf.example")

    result = email_ingest(raw=corpus("cc_known_leads.eml"))

    olivia = Lead.objects.get(email="olivia@greenleaf.example")
    assert result.created and result.lead == olivia and result.linked_leads == [mark.pk]
    copy = mark.interactions.get(kind=Interaction.Kind.EMAIL_IN)
    assert copy.subject == "Pricing for our team" and copy.data["copied"] is True
    assert not Lead.objects.filter(email="nobody-known@greenleaf.example").exists()  # copies never make leads


# --- Mail that makes no lead ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_bounce_flags_the_leads_address_and_makes_no_lead():
    gone = LeadFactory(email="gone@vanished.example")

    result = email_ingest(raw=corpus("bounce_dsn.eml"))

    assert (result.kind, result.lead, result.created) == (InboundEmail.Kind.BOUNCE, gone, False)
    gone.refresh_from_db()
    assert gone.email_bouncing is True
    event = gone.interactions.get(kind=Interaction.Kind.EVENT)
    assert event.subject == "Email to gone@vanished.example bounced" and event.data["status"] == "5.1.1"
    assert "User unknown" in event.body
    assert Lead.objects.count() == 1
    record = CaptureRecord.objects.get()
    assert record.result == CaptureRecord.Result.IGNORED and record.lead == gone


@pytest.mark.django_db
def test_a_delayed_delivery_report_does_not_flag_the_address():
    gone = LeadFactory(email="gone@vanished.example")
    raw = (
        corpus("bounce_dsn.eml")
        .replace(b"Action: failed", b"Action: delayed")
        .replace(b"Status: 5.1.1", b"Status: 4.4.1")
    )

    result = email_ingest(raw=raw)

    assert result.kind == InboundEmail.Kind.BOUNCE
    gone.refresh_from_db()
    assert gone.email_bouncing is False and Lead.objects.count() == 1


@pytest.mark.django_db
def test_an_auto_reply_makes_no_lead_even_when_it_answers_our_mail():
    tom = LeadFactory(email="someone-else@fastfreight.example")
    OutboundMessageFactory(message_id="<out-auto-1@leadcrm.test>", lead=tom)

    result = email_ingest(raw=corpus("auto_reply.eml"))

    assert (result.kind, result.created) == (InboundEmail.Kind.AUTO_REPLY, False)
    assert not Lead.objects.filter(email="tom@fastfreight.example").exists()
    assert not tom.interactions.exists()
    assert CaptureRecord.objects.get().result == CaptureRecord.Result.IGNORED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers, kind",
    [
        ("Auto-Submitted: auto-generated", InboundEmail.Kind.AUTO_REPLY),
        ("X-Autoreply: yes", InboundEmail.Kind.AUTO_REPLY),
        ("X-Autorespond: Out of office", InboundEmail.Kind.AUTO_REPLY),
        ("Precedence: auto_reply", InboundEmail.Kind.AUTO_REPLY),
        ("List-Id: <announce.lists.example>", InboundEmail.Kind.LIST),
        ("Precedence: bulk", InboundEmail.Kind.LIST),
        ("Precedence: list", InboundEmail.Kind.LIST),
    ],
)
def test_machine_and_list_mail_makes_no_lead(headers, kind):
    result = email_ingest(raw=message(headers=headers))

    assert result.kind == kind and result.lead is None
    assert not Lead.objects.exists()
    assert InboundEmail.objects.get().kind == kind


@pytest.mark.django_db
def test_auto_submitted_no_is_a_person_writing():
    result = email_ingest(raw=message(headers="Auto-Submitted: no"))

    assert result.created and Lead.objects.filter(email="ann@example-co.example").exists()


@pytest.mark.django_db
def test_list_mail_from_the_corpus_makes_no_lead():
    result = email_ingest(raw=corpus("list_message.eml"))

    assert result.kind == InboundEmail.Kind.LIST and not Lead.objects.exists()


@pytest.mark.django_db
def test_our_own_outgoing_mail_makes_no_lead():
    MailboxFactory(name="Sales", host="imap.example", username="sales@leadcrm.test", password="x")
    OutboundMessageFactory(message_id="<sent-by-us@leadcrm.test>", lead=LeadFactory())
    before = Lead.objects.count()

    from_default = email_ingest(raw=corpus("own_outgoing.eml"))  # DEFAULT_FROM_EMAIL is crm@localhost
    from_mailbox = email_ingest(raw=message(sender="Sales <Sales@LeadCRM.test>", message_id="<own-2@leadcrm.test>"))
    sent_by_us = email_ingest(raw=message(sender="Rep <rep@elsewhere.example>", message_id="<sent-by-us@leadcrm.test>"))

    assert [r.kind for r in (from_default, from_mailbox, sent_by_us)] == [InboundEmail.Kind.OWN] * 3
    assert Lead.objects.count() == before


# --- Malformed mail is stored, never lost -------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, error",
    [
        ("bad_charset.eml", UNKNOWN_CHARSET.format(charset="x-no-such-charset-2000")),
        (
            "broken_mime.eml",
            BROKEN_MIME.format(defects="MultipartInvariantViolationDefect, NoBoundaryInMultipartDefect"),
        ),
        ("no_from.eml", NO_SENDER),
        ("not_an_email.eml", NO_SENDER),
    ],
)
def test_malformed_mail_is_stored_for_review_with_its_raw_text(name, error):
    raw = corpus(name)

    result = email_ingest(raw=raw)

    assert (result.kind, result.lead, result.reason) == (InboundEmail.Kind.MALFORMED, None, error)
    assert not Lead.objects.exists() and not Interaction.objects.exists()
    inbound = InboundEmail.objects.get()
    assert inbound.kind == InboundEmail.Kind.MALFORMED and inbound.error == error
    record = inbound.capture
    assert record.result == CaptureRecord.Result.FAILED and error in record.reason
    if "raw_base64" in record.payload:  # bytes a text column cannot hold are kept exactly
        assert base64.b64decode(record.payload["raw_base64"]) == raw
    else:
        assert record.raw == raw.decode("utf-8")


@pytest.mark.django_db
def test_raw_bytes_that_are_not_utf8_are_kept_exactly():
    raw = corpus("bad_charset.eml")

    email_ingest(raw=raw)

    record = CaptureRecord.objects.get()
    assert base64.b64decode(record.payload["raw_base64"]) == raw
    assert "Subject: Inquiry" in record.raw


@pytest.mark.django_db
def test_a_message_the_database_refuses_is_stored_as_malformed_instead_of_lost(monkeypatch):
    """A rule that fails on some odd value must not lose the message."""

    def refuse(**kwargs):
        raise DataError("value too long for type character varying(200)")

    monkeypatch.setattr(email_channel, "capture", refuse)

    result = email_ingest(raw=corpus("multipart_alternative.eml"))

    assert result.kind == InboundEmail.Kind.MALFORMED
    assert result.reason.startswith(STORE_FAILED.split("{", 1)[0]) and "DataError" in result.reason
    assert not Lead.objects.exists()
    assert InboundEmail.objects.get().capture.raw.startswith("Return-Path:")


# --- Idempotence ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw", [corpus("multipart_alternative.eml"), message(message_id="")], ids=["message-id", "no-message-id"]
)
def test_the_same_message_twice_adds_nothing_the_second_time(raw):
    first = email_ingest(raw=raw)
    before = counts()

    second = email_ingest(raw=raw)

    assert first.created and not first.duplicate
    assert second.duplicate and second.lead == first.lead and not second.created
    assert counts() == before


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_message_at_the_same_moment_make_one_lead():
    raw = corpus("multipart_alternative.eml")
    barrier = threading.Barrier(2)
    results, errors = [], []

    def deliver():
        try:
            barrier.wait(timeout=5)
            results.append(email_ingest(raw=raw))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    assert sorted(r.duplicate for r in results) == [False, True]
    assert Lead.objects.count() == 1 and InboundEmail.objects.count() == 1
    assert Interaction.objects.filter(kind=Interaction.Kind.EMAIL_IN).count() == 1
