"""Sequence email through a real SMTP server: the message, its headers, who is never mailed,
header injection, rate limits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.common.rendering import HEADER_INJECTION
from leads.models import Interaction, Lead, OutboundMessage
from leads.models.nurturing import Enrollment, StepRun
from leads.nurturing.sequences import enrollments_process_due, lead_enroll
from leads.privacy.mailable import NOT_MAILABLE_NO_CONSENT, lead_not_mailable_reason, mailable_leads
from tests.factories import (
    CaptureRecordFactory,
    ConsentFactory,
    EmailSuppressionFactory,
    LeadFactory,
    SequenceFactory,
    SequenceStepFactory,
    WebFormFactory,
)
from tests.leads.nurturing.smtp import smtp_inbox  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sequence():
    sequence = SequenceFactory(
        name="Welcome", from_name="Ada at Acme", from_email="ada@acme.test", reply_to="sales@acme.test"
    )
    SequenceStepFactory(
        sequence=sequence,
        position=0,
        kind="email",
        subject='Hello {{ lead.first_name|default:"there" }}',
        body='Hi {{ lead.first_name|default:"there" }},\n\nRead https://acme.test/guide?x=1&y=2 today.\n\n{{ sender.name }}',
    )
    return sequence


def _run(now=None):
    return enrollments_process_due(now=now or timezone.now())


def test_email_arrives_multipart_with_unsubscribe_headers_and_threads(sequence, smtp_inbox):
    lead = LeadFactory(first_name="Grace", email="grace@example.org")
    enrollment = lead_enroll(sequence=sequence, lead=lead)
    _run()
    assert len(smtp_inbox.messages) == 1
    message = smtp_inbox.messages[0]
    assert message["Subject"] == "Hello Grace"
    assert message["From"] == "Ada at Acme <ada@acme.test>"
    assert message["Reply-To"] == "sales@acme.test"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hi Grace," in text and "https://acme.test/guide?x=1&y=2" in text
    assert "https://crm.example.com/e/c/" in html and "https://crm.example.com/e/o/" in html
    assert message["List-Unsubscribe"].strip().startswith("<https://crm.example.com/e/u/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    run = StepRun.objects.get(enrollment=enrollment)
    assert run.status == "sent" and run.message_id == message["Message-ID"] and run.to_domain == "example.org"
    assert OutboundMessage.objects.filter(message_id=message["Message-ID"], lead=lead).exists()
    assert Interaction.objects.filter(lead=lead, kind=Interaction.Kind.EMAIL_OUT).count() == 1
    enrollment.refresh_from_db()
    assert enrollment.status == "completed" and enrollment.exit_reason == "end"


def test_lead_data_cannot_inject_headers(sequence, smtp_inbox):
    lead = LeadFactory(first_name="Eve\r\nBcc: victim@example.net", email="eve@example.org")
    enrollment = lead_enroll(sequence=sequence, lead=lead)
    _run()
    assert smtp_inbox.messages == []
    run = StepRun.objects.get(enrollment=enrollment)
    assert run.status == "failed" and run.error == HEADER_INJECTION.format(field="subject")


@pytest.mark.parametrize(
    "fields",
    [{"email": ""}, {"do_not_contact": True}, {"email_bouncing": True}],
    ids=["no-email", "do-not-contact", "bouncing"],
)
def test_unmailable_leads_exit_without_a_send(sequence, smtp_inbox, fields):
    lead = LeadFactory(email="x@example.org")
    enrollment = lead_enroll(sequence=sequence, lead=lead)
    Lead.objects.filter(pk=lead.pk).update(**fields)
    _run()
    assert smtp_inbox.messages == []
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "not_mailable")


def test_suppressed_address_is_never_mailed(sequence, smtp_inbox):
    lead = LeadFactory(email="gone@example.org")
    EmailSuppressionFactory(email="Gone@Example.org", reason="unsubscribe")
    enrollment = lead_enroll(sequence=sequence, lead=lead)
    _run()
    assert smtp_inbox.messages == []
    enrollment.refresh_from_db()
    assert enrollment.exit_reason == "not_mailable"


def test_form_that_asked_for_consent_without_consent_blocks_the_send(sequence, smtp_inbox):
    form = WebFormFactory(name="Demo", consent_text="Email me news")
    without = LeadFactory(email="no@example.org")
    with_consent = LeadFactory(email="yes@example.org")
    opted_in = LeadFactory(email="optin@example.org", email_opt_in=True)
    for lead in (without, with_consent, opted_in):
        CaptureRecordFactory(channel="web_form", result="created", lead=lead, web_form=form)
    ConsentFactory(lead=with_consent, text="Email me news", web_form=form)
    leads = {
        lead.pk: lead for lead in mailable_leads(Lead.objects.filter(pk__in=[without.pk, with_consent.pk, opted_in.pk]))
    }
    assert lead_not_mailable_reason(lead=leads[without.pk]) == NOT_MAILABLE_NO_CONSENT
    assert lead_not_mailable_reason(lead=leads[with_consent.pk]) is None
    assert lead_not_mailable_reason(lead=leads[opted_in.pk]) is None
    for lead in (without, with_consent, opted_in):
        lead_enroll(sequence=sequence, lead=lead)
    _run()
    assert sorted(m["To"] for m in smtp_inbox.messages) == ["optin@example.org", "yes@example.org"]


def test_domain_rate_limit_defers_instead_of_dropping(sequence, smtp_inbox, settings):
    settings.NURTURE_DOMAIN_HOURLY_LIMIT = 2
    leads = [LeadFactory(email=f"p{i}@busy.example") for i in range(3)] + [LeadFactory(email="q@quiet.example")]
    for lead in leads:
        lead_enroll(sequence=sequence, lead=lead)
    now = timezone.now()
    _run(now)
    assert len(smtp_inbox.to("busy.example")) == 2 and len(smtp_inbox.to("quiet.example")) == 1
    waiting = Enrollment.objects.get(status="active")
    assert waiting.next_run_at > now and not StepRun.objects.filter(enrollment=waiting).exists()
    # An hour later the window has room again: the deferred email goes out.
    _run(now + timedelta(hours=1, minutes=1))
    assert len(smtp_inbox.to("busy.example")) == 3
    waiting.refresh_from_db()
    assert waiting.status == "completed"


def test_overall_hourly_limit_defers(sequence, smtp_inbox, settings):
    settings.NURTURE_HOURLY_LIMIT = 1
    for i in range(2):
        lead_enroll(sequence=sequence, lead=LeadFactory(email=f"r{i}@d{i}.example"))
    _run()
    assert len(smtp_inbox.messages) == 1
    assert Enrollment.objects.filter(status="active").count() == 1


def test_a_batch_sends_in_a_constant_number_of_queries(sequence, smtp_inbox, django_assert_num_queries):
    """Sending is set-based per batch: 3 emails or 12, the same statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.nurturing.sequences import enrollments_claim_due, enrollments_run

    for i in range(3):
        lead_enroll(sequence=sequence, lead=LeadFactory(email=f"a{i}@d{i}.example"))
    claimed = enrollments_claim_due(batch=100)
    with CaptureQueriesContext(connection) as small:
        enrollments_run(claimed=claimed)
    for i in range(12):
        lead_enroll(sequence=sequence, lead=LeadFactory(email=f"b{i}@d{i % 4}.example"))
    claimed = enrollments_claim_due(batch=100)
    assert len(claimed) == 12
    with django_assert_num_queries(len(small)):
        enrollments_run(claimed=claimed)
    assert len(smtp_inbox.messages) == 15


def test_a_refused_recipient_fails_that_run_only_and_the_batch_goes_on(sequence, smtp_inbox):
    smtp_inbox.refuse.add("nobody@example.org")
    refused = lead_enroll(sequence=sequence, lead=LeadFactory(email="nobody@example.org"))
    fine = lead_enroll(sequence=sequence, lead=LeadFactory(email="someone@example.org"))
    _run()
    assert [m["To"] for m in smtp_inbox.messages] == ["someone@example.org"]
    run = StepRun.objects.get(enrollment=refused)
    assert run.status == "failed" and "550" in run.error
    assert StepRun.objects.get(enrollment=fine).status == "sent"
    assert not OutboundMessage.objects.filter(lead=refused.lead).exists()
