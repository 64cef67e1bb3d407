"""A rep's email, through a real SMTP server (aiosmtpd): from the rep's address with a Message-ID
the CRM keeps, tracked or not, do-not-contact refused unless overridden (recorded), SMTP down →
failed and retried, a scheduled send sent once after its time."""

import socket
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.models import EmailSuppression, Enrollment, Interaction, OutboundMessage, RepEmail
from leads.privacy.mailable import NOT_MAILABLE_DO_NOT_CONTACT, NOT_MAILABLE_SUPPRESSED
from leads.rep_email.compose import OVERRIDE_REASON_REQUIRED, OVERRIDE_REQUIRED, Draft, rep_email_create
from leads.rep_email.sending import INTERRUPTED, rep_email_send, rep_emails_sweep
from leads.rep_email.tracking import rep_email_click_record, rep_email_open_record
from tests.factories import EmailSuppressionFactory, EnrollmentFactory, LeadFactory, SequenceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(rep):
    rep.first_name, rep.last_name, rep.email = "Rita", "Rep", "rita@sales.example.com"
    rep.save()
    return LeadFactory(
        owner=rep,
        first_name="Ada",
        company="Analytical Engines",
        email="ada@analytical.example",
        time_zone="Europe/London",
    )


def _send_now(lead, user, **draft):
    message = rep_email_create(
        lead=lead,
        user=user,
        draft=Draft(
            **{
                "to": lead.email,
                "subject": "Hi {{ lead.first_name }}",
                "body": "Hello {{ lead.first_name }} at {{ lead.company }},\nsee https://example.com/pricing\n\n{{ sender.name }}",
                **draft,
            }
        ),
    )
    return message, rep_email_send(rep_email_id=message.pk)


def test_a_sent_email_leaves_from_the_rep_with_a_message_id_the_crm_keeps(smtp_inbox, rep, ada):
    message, status = _send_now(ada, rep, tracked=True)

    assert status == RepEmail.Status.SENT
    [mail] = smtp_inbox.messages
    assert mail["From"] == "Rita Rep <rita@sales.example.com>"
    assert mail["To"] == "ada@analytical.example"
    assert mail["Subject"] == "Hi Ada"
    assert mail["Message-ID"] == message.message_id
    text = mail.get_body(("plain",)).get_content()
    assert "Hello Ada at Analytical Engines," in text and "Rita Rep" in text
    html = mail.get_body(("html",)).get_content()
    assert "https://crm.example.com/e/r/o/" in html and "https://crm.example.com/e/r/c/" in html
    assert OutboundMessage.objects.filter(message_id=message.message_id, lead=ada).exists()
    entry = ada.interactions.get(kind=Interaction.Kind.EMAIL_OUT)
    assert (entry.actor, entry.data["message_id"], entry.data["rep_email"]) == (rep, message.message_id, message.pk)
    ada.refresh_from_db()
    assert ada.first_contacted_at is not None and ada.last_activity_at is not None  # first contact, activity


def test_tracking_is_optional_and_opens_and_clicks_are_recorded_once(smtp_inbox, rep, ada):
    untracked, _ = _send_now(ada, rep, tracked=False)
    html = smtp_inbox.messages[0].get_body(("html",)).get_content()
    assert "/e/r/" not in html and 'href="https://example.com/pricing"' in html

    tracked, _ = _send_now(ada, rep, tracked=True)
    html = smtp_inbox.messages[1].get_body(("html",)).get_content()
    pixel = html.split('src="https://crm.example.com/e/r/o/')[1].split(".gif")[0]
    click = html.split('href="https://crm.example.com/e/r/c/')[1].split('"')[0]
    assert rep_email_open_record(token=pixel) and rep_email_open_record(token=pixel)
    assert rep_email_click_record(token=click) == "https://example.com/pricing"
    assert rep_email_click_record(token=click + "x") is None  # forged
    assert ada.interactions.filter(kind=Interaction.Kind.EMAIL_OPENED).count() == 1
    assert ada.interactions.filter(kind=Interaction.Kind.EMAIL_CLICKED, data__rep_email=tracked.pk).count() == 1
    ada.refresh_from_db()
    assert (ada.emails_opened, ada.emails_clicked) == (1, 1)
    assert RepEmail.objects.get(pk=untracked.pk).opened_at is None


def test_an_unsubscribed_lead_is_refused_without_an_override_and_mailed_with_a_recorded_one(smtp_inbox, rep, ada):
    EmailSuppressionFactory(email=ada.email, reason=EmailSuppression.Reason.UNSUBSCRIBE, lead=ada)

    with pytest.raises(ValidationError) as refused:
        _send_now(ada, rep)
    assert refused.value.message_dict["override"] == [OVERRIDE_REQUIRED.format(reason=NOT_MAILABLE_SUPPRESSED)]
    with pytest.raises(ValidationError) as no_reason:
        _send_now(ada, rep, override=True)
    assert no_reason.value.message_dict["override_reason"] == [OVERRIDE_REASON_REQUIRED]
    assert not smtp_inbox.messages and not RepEmail.objects.exists()

    message, status = _send_now(ada, rep, override=True, override_reason="She asked for the quote on the phone")

    assert status == "sent" and len(smtp_inbox.messages) == 1
    assert message.override_reason == f"{NOT_MAILABLE_SUPPRESSED} Sent anyway: She asked for the quote on the phone"
    assert ada.interactions.get(kind=Interaction.Kind.EMAIL_OUT).data["override"] == message.override_reason


def test_do_not_contact_is_refused_too(smtp_inbox, rep, ada):
    ada.do_not_contact = True
    ada.save()
    with pytest.raises(ValidationError) as refused:
        _send_now(ada, rep)
    assert refused.value.message_dict["override"] == [OVERRIDE_REQUIRED.format(reason=NOT_MAILABLE_DO_NOT_CONTACT)]


def test_smtp_down_marks_the_message_failed_and_retries_with_backoff(settings, smtp_inbox, rep, ada):
    real_port = settings.EMAIL_PORT
    with socket.socket() as probe:  # a port nobody listens on: the server is down
        probe.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = probe.getsockname()[1]
    message, status = _send_now(ada, rep)

    message.refresh_from_db()
    assert status == RepEmail.Status.FAILED
    assert (message.status, message.retrying, message.attempts) == ("failed", True, 1)
    assert "ConnectionRefusedError" in message.error
    assert message.due_at > timezone.now() + timedelta(seconds=50)
    assert rep_email_send(rep_email_id=message.pk) == "skipped"  # not due yet

    settings.EMAIL_PORT = real_port
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=True):
        assert rep_email_send(rep_email_id=message.pk) == RepEmail.Status.SENT
        assert rep_email_send(rep_email_id=message.pk) == "skipped"
    message.refresh_from_db()
    assert (message.status, message.error, len(smtp_inbox.messages)) == ("sent", "", 1)


def test_after_the_last_retry_the_failure_is_final_and_on_the_timeline(settings, smtp_inbox, rep, ada):
    settings.REP_EMAIL_RETRY_DELAYS = []
    settings.EMAIL_PORT = 1  # nothing listens there
    message, status = _send_now(ada, rep)
    message.refresh_from_db()
    assert (status, message.retrying) == ("failed", False)
    assert (
        ada.interactions.get(kind=Interaction.Kind.EVENT, data__rep_email=message.pk).subject
        == "Email not sent: Hi Ada"
    )


def test_a_refused_recipient_is_not_retried(smtp_inbox, rep, ada):
    smtp_inbox.refuse.add(ada.email)
    message, status = _send_now(ada, rep)
    message.refresh_from_db()
    assert (status, message.retrying) == ("failed", False) and "refused" in message.error


def test_a_scheduled_send_goes_once_after_its_time(smtp_inbox, rep, ada):
    now = timezone.now()
    message = rep_email_create(
        lead=ada,
        user=rep,
        draft=Draft(to=ada.email, subject="Tomorrow", body="Hi", send_at=now + timedelta(hours=20)),
    )
    assert rep_email_send(rep_email_id=message.pk) == "skipped"
    assert rep_emails_sweep() == 0

    with time_machine.travel(now + timedelta(hours=20, seconds=5), tick=True):
        assert rep_emails_sweep() == 1  # a worker restart lost nothing: the row is the schedule
        assert rep_email_send(rep_email_id=message.pk) == "sent"
        assert rep_email_send(rep_email_id=message.pk) == "skipped"  # the job the sweep queued finds it sent
        assert rep_emails_sweep() == 0
    assert len(smtp_inbox.messages) == 1


def test_a_send_a_dead_worker_left_is_marked_failed_never_sent_twice(smtp_inbox, rep, ada):
    message = rep_email_create(lead=ada, user=rep, draft=Draft(to=ada.email, subject="Hi", body="Hi"))
    RepEmail.objects.filter(pk=message.pk).update(status="sending", claimed_until=timezone.now() - timedelta(seconds=1))
    rep_emails_sweep()
    message.refresh_from_db()
    assert (message.status, message.error, message.retrying) == ("failed", INTERRUPTED, False)
    assert rep_email_send(rep_email_id=message.pk) == "skipped" and not smtp_inbox.messages


def test_the_reps_email_pauses_the_leads_nurture_sequences(settings, smtp_inbox, rep, ada):
    settings.REP_EMAIL_PAUSES_NURTURE_DAYS = 7
    sequence = SequenceFactory(name="Welcome")
    enrollment = EnrollmentFactory(sequence=sequence, lead=ada, next_run_at=timezone.now() + timedelta(hours=1))
    _send_now(ada, rep)
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.ACTIVE
    assert enrollment.next_run_at > timezone.now() + timedelta(days=6)


def test_a_bounce_for_the_address_marks_the_reps_message_bounced(smtp_inbox, rep, ada):
    from leads import events

    message, _ = _send_now(ada, rep)
    events.email_bounced(lead=ada, recipient=ada.email, inbound_email_id=0, status="5.1.1", action="failed")
    message.refresh_from_db()
    assert (message.status, message.error) == ("bounced", f"Bounced: {ada.email}")
