"""Replies and logged mail land in the same thread: the rep sends through SMTP (aiosmtpd), the lead's
reply arrives in a monitored mailbox of a real IMAP server (Dovecot) and is polled; a message BCC'd
or forwarded to the logging address is filed on the lead it was sent to, never as a lead of the rep."""

from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.urls import reverse

from leads.capture.email import email_ingest
from leads.capture.email.imap import mailboxes_poll
from leads.models import InboundEmail, Interaction, Lead
from leads.rep_email.compose import Draft, rep_email_create
from leads.rep_email.sending import rep_email_send
from leads.rep_email.threads import lead_threads, timeline_with_threads
from tests.factories import LeadFactory
from tests.leads.capture.email.test_imap import deliver, mailbox_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(rep):
    rep.email = "rita@sales.example.com"
    rep.save()
    return LeadFactory(owner=rep, first_name="Ada", email="ada@analytical.example")


def _reply(*, to_message_id: str, sender="Ada <ada@analytical.example>", subject="Re: Quote") -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, "rita@sales.example.com", subject
    mail["Message-ID"] = make_msgid(domain="analytical.example")
    mail["In-Reply-To"] = mail["References"] = to_message_id
    mail.set_content("Thanks, sounds good. Call me Tuesday.")
    return bytes(mail)


@pytest.mark.slow
def test_the_leads_reply_through_imap_lands_in_the_same_thread(smtp_inbox, empty_mailboxes, rep, ada, client):
    message = rep_email_create(
        lead=ada, user=rep, draft=Draft(to=ada.email, subject="Quote", body="Here is the quote.")
    )
    assert rep_email_send(rep_email_id=message.pk) == "sent"
    [sent] = smtp_inbox.messages
    mailbox_for(empty_mailboxes)
    deliver(empty_mailboxes, _reply(to_message_id=sent["Message-ID"]))

    [result] = mailboxes_poll()

    assert result.kinds == {"reply": 1}
    received = ada.interactions.get(kind=Interaction.Kind.EMAIL_IN)
    threads = lead_threads(lead_id=ada.pk)
    assert threads[received.pk] is threads[ada.interactions.get(kind=Interaction.Kind.EMAIL_OUT).pk]
    thread = threads[received.pk]
    assert [m.kind for m in thread.messages] == ["email_in", "email_out"]  # newest first
    assert thread.subject == "Quote" and thread.reply_to_id == received.data["message_id"]

    client.force_login(rep)
    page = client.get(ada.get_absolute_url()).content.decode()
    assert page.count('data-testid="email-thread"') == 1 and page.count('data-testid="thread-message"') == 2
    assert "Thanks, sounds good." in page and "Here is the quote." in page


def test_a_thread_is_shown_once_where_its_newest_message_is(rep, ada):
    first = ada.interactions.create(kind="email_out", subject="A", data={"message_id": "<a@x>"})
    note = ada.interactions.create(kind="note", subject="n")
    reply = ada.interactions.create(
        kind="email_in", subject="Re: A", data={"message_id": "<b@y>", "in_reply_to": "<a@x>"}
    )
    other = ada.interactions.create(kind="email_out", subject="B", data={"message_id": "<c@x>"})
    items = [other, reply, note, first]

    entries = timeline_with_threads(lead_id=ada.pk, items=items)

    assert [getattr(e, "subject", None) for e in entries] == ["B", "A", "n"]
    assert [m.pk for m in entries[1].messages] == [reply.pk, first.pk]
    assert timeline_with_threads(lead_id=ada.pk, items=[note, first], first_page=False) == [note]


def test_a_bcc_to_the_logging_address_is_filed_as_the_reps_outgoing_message(rep, ada):
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = (
        "Rita <rita@sales.example.com>",
        "Ada <ada@analytical.example>",
        "Our call",
    )
    mail["Message-ID"] = message_id = make_msgid(domain="sales.example.com")
    mail["Delivered-To"] = "log@crm.example.com"  # a BCC copy: the logging address is only on the envelope
    mail.set_content("Great talking today.")

    result = email_ingest(raw=bytes(mail))

    assert (result.kind, result.lead, result.created) == (InboundEmail.Kind.LOGGED, ada, False)
    assert not Lead.objects.filter(email="rita@sales.example.com").exists()
    entry = ada.interactions.get(kind=Interaction.Kind.EMAIL_OUT)
    assert (entry.actor, entry.data["logged"], entry.data["message_id"]) == (rep, True, message_id)
    ada.refresh_from_db()
    assert ada.first_contacted_at is not None  # the owner's email, logged, is the first contact

    reply = email_ingest(raw=_reply(to_message_id=message_id, subject="Re: Our call"))
    assert (reply.kind, reply.lead) == (InboundEmail.Kind.REPLY, ada)
    threads = lead_threads(lead_id=ada.pk)
    assert threads[entry.pk] is threads[ada.interactions.get(kind=Interaction.Kind.EMAIL_IN).pk]


def test_a_forward_to_the_logging_address_is_filed_on_the_original_recipient(rep, ada):
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "rita@sales.example.com", "log@crm.example.com", "Fwd: Proposal"
    mail["Message-ID"] = make_msgid(domain="sales.example.com")
    mail.set_content(
        "FYI\n\n---------- Forwarded message ---------\nFrom: Rita <rita@sales.example.com>\n"
        "Date: Mon, 1 Dec 2025 10:00\nSubject: Proposal\nTo: Ada <ada@analytical.example>\n\nThe proposal is attached.\n"
    )

    result = email_ingest(raw=bytes(mail))

    assert (result.kind, result.lead) == (InboundEmail.Kind.LOGGED, ada)
    entry = ada.interactions.get(kind=Interaction.Kind.EMAIL_OUT)
    assert entry.data["forwarded"] is True and entry.data["to_addresses"] == ["ada@analytical.example"]
    assert Lead.objects.count() == 1


def test_logged_mail_to_no_known_lead_makes_no_lead(rep):
    """From a user's own address: never a lead of the rep, even when no recipient is a lead."""
    rep.email = "rita@sales.example.com"
    rep.save()
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "rita@sales.example.com", "stranger@else.example", "Hello"
    mail["Message-ID"] = make_msgid(domain="sales.example.com")
    mail.set_content("Hi")
    result = email_ingest(raw=bytes(mail))
    assert result.kind == InboundEmail.Kind.LOGGED and result.lead is None
    assert not Lead.objects.exists()


def test_without_a_logging_address_mail_works_as_before(settings, rep):
    settings.EMAIL_LOGGING_ADDRESS = ""
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Jane <jane@new.example>", "sales@crm.example.com", "Interested"
    mail["Message-ID"] = make_msgid(domain="new.example")
    mail.set_content("Tell me more")
    assert email_ingest(raw=bytes(mail)).kind == InboundEmail.Kind.NEW_LEAD
    assert reverse("leads:email_templates")
