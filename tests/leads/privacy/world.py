"""One person with realistic data in every place LeadCRM keeps it, made through the services where
they exist (capture, email ingest, tracking, conversion, events), and one other person who stays."""

from datetime import timedelta
from types import SimpleNamespace

from django.contrib.admin.models import CHANGE
from django.core.files.base import ContentFile
from django.utils import timezone

from customers.services import lead_convert
from leads import events
from leads.capture.email.ingest import email_ingest
from leads.capture.service import CaptureContext, capture, capture_reject
from leads.capture.tracking import PageViewInput, page_view_record, visitor_identify, visitor_key_new
from leads.models import (
    Assignment,
    Automation,
    AutomationRun,
    Call,
    EmailSuppression,
    EnrichmentValue,
    ImportJob,
    Interaction,
    Lead,
    Notification,
    RunStep,
    Segment,
    SequenceStep,
    StepRun,
)
from tests.factories import (
    AssignmentFactory,
    AutomationFactory,
    AutomationRunFactory,
    CallFactory,
    EmailSuppressionFactory,
    EnrichmentValueFactory,
    EnrollmentFactory,
    ImportJobFactory,
    LeadFactory,
    LogEntryFactory,
    NotificationFactory,
    OutboundMessageFactory,
    RunStepFactory,
    SegmentFactory,
    SegmentMemberFactory,
    SequenceFactory,
    SequenceStepFactory,
    StepRunFactory,
    TaskFactory,
    TrackingSiteFactory,
    WebFormFactory,
    WebhookDeliveryFactory,
    WebhookSubscriptionFactory,
)
from tests.leads.capture.email.email_mail import message

EMAIL = "zebedee.quartermaine@privacy-example.org"
FIRST, LAST = "Zebedee", "Quartermaine"
PHONE = "+442079460123"
# What must not be found anywhere after the erasure (the company carries the surname too).
NEEDLES = [EMAIL, PHONE, FIRST, LAST]


def person_world(*, manager, rep) -> SimpleNamespace:
    """The person, everywhere; returns the lead, the other lead and a few of the rows made."""
    site = TrackingSiteFactory(name="Main site", key="main", allowed_hosts=["www.example.com"])
    form = WebFormFactory(name="Demo request", key="demo", consent_text="I agree to receive product emails.")
    visitor_key = visitor_key_new()
    page_view_record(
        site=site, hit=PageViewInput(url="https://www.example.com/pricing", visitor_key=visitor_key, title="Pricing")
    )
    submitted = {
        "first_name": FIRST,
        "last_name": LAST,
        "email": EMAIL,
        "phone": PHONE,
        "company": f"{LAST} Ltd",
        "message": f"Please call me on {PHONE}",
    }
    lead = capture(
        data=submitted,
        context=CaptureContext(
            channel=Lead.Source.WEB_FORM, web_form=form, ip="203.0.113.9", user_agent="Mozilla/5.0", payload=submitted
        ),
        consent_text=form.consent_text,
    ).lead
    visitor_identify(site_key=site.key, visitor_key=visitor_key, lead=lead)
    page_view_record(
        site=site, hit=PageViewInput(url="https://www.example.com/demo", visitor_key=visitor_key, title="Demo")
    )
    # A spam filter refused one of their submissions: a capture record with no lead, naming them.
    capture_reject(
        context=CaptureContext(channel=Lead.Source.WEB_FORM, payload={"email": EMAIL, "first_name": FIRST}),
        reason="spam",
    )
    email_ingest(
        raw=message(
            sender=f"{FIRST} {LAST} <{EMAIL}>",
            body=f"Hi, {FIRST} {LAST} here; my number is {PHONE}.",
            message_id="<zq-1@privacy-example.org>",
        )
    )
    lead.refresh_from_db()
    now = timezone.now()
    events.emails_sent(
        sent=[
            events.SentEmail(
                lead_id=lead.pk,
                subject=f"Hello {FIRST}",
                body=f"Dear {FIRST} {LAST}, thanks!",
                data={"message_id": "<out-1@leadcrm.test>"},
            )
        ],
        channel="email",
        occurred_at=now,
    )
    OutboundMessageFactory(message_id="<out-1@leadcrm.test>", lead=lead, subject=f"Hello {FIRST}")
    sequence = SequenceFactory(name="Welcome")
    step = SequenceStepFactory(
        sequence=sequence, kind=SequenceStep.Kind.EMAIL, subject="Hi", body="Hi {{ lead.first_name }}"
    )
    enrollment = EnrollmentFactory(sequence=sequence, lead=lead, step=step, next_run_at=now)
    StepRunFactory(
        enrollment=enrollment,
        step=step,
        lead=lead,
        status=StepRun.Status.SENT,
        to_email=EMAIL,
        to_domain="privacy-example.org",
        subject=f"Hello {FIRST}",
        message_id="<out-1@leadcrm.test>",
    )
    segment = SegmentFactory(name="Trade show", kind=Segment.Kind.STATIC)
    SegmentMemberFactory(segment=segment, lead=lead)
    events.note_added(lead=lead, by=rep, body=f"{FIRST} wants a demo; call {PHONE}.")
    TaskFactory(
        lead=lead,
        assigned_to=rep,
        title=f"Call {FIRST} {LAST}",
        notes=f"Mobile {PHONE}",
        due_at=now + timedelta(days=1),
    )
    NotificationFactory(
        user=rep, kind=Notification.Kind.ASSIGNED, lead=lead, message=f"{FIRST} {LAST} was assigned to you"
    )
    AssignmentFactory(lead=lead, agent=rep, reason=Assignment.Reason.MANUAL, detail="by hand")
    EnrichmentValueFactory(
        lead=lead,
        field="job_title",
        value="Founder",
        provider="test",
        confidence=0.9,
        status=EnrichmentValue.Status.SUGGESTED,
    )
    automation = AutomationFactory(name="Welcome task", trigger=Automation.Trigger.LEAD_CREATED, enabled=False)
    run = AutomationRunFactory(
        automation=automation,
        lead=lead,
        trigger_event="lead.created",
        trigger_key="k1",
        status=AutomationRun.Status.DONE,
    )
    RunStepFactory(run=run, position=0, action="task", outcome=RunStep.Outcome.DONE, detail=f"Task for {FIRST} {LAST}")
    subscription = WebhookSubscriptionFactory(
        url="https://hooks.example.com/in", events=["lead.created"], secret="whsec_x"
    )
    WebhookDeliveryFactory(
        subscription=subscription,
        event_type="lead.created",
        lead_id=lead.pk,
        payload={"lead": {"id": lead.pk, "email": EMAIL, "first_name": FIRST, "last_name": LAST, "phone": PHONE}},
    )
    CallFactory(call_id="call-zq-1", from_number=PHONE, to_number="+442079460000", lead=lead, route=Call.Route.TEAM)
    EmailSuppressionFactory(email=EMAIL, reason=EmailSuppression.Reason.BOUNCE, lead=lead)
    LogEntryFactory(
        lead=lead, user=manager, action_flag=CHANGE, change_message=f'[{{"changed": {{"fields": ["{LAST}"]}}}}]'
    )
    job = ImportJobFactory.build(created_by=None, original_name="fair.csv", status=ImportJob.Status.DONE)
    job.file.save(
        "fair.csv",
        ContentFile(f"email,name\n{EMAIL},{FIRST} {LAST}\nkeep@example.com,Kept Person\n".encode()),
        save=True,
    )
    Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.QUALIFIED, owner=rep)
    lead.refresh_from_db()
    customer = lead_convert(lead=lead, by=manager, action="create").customer
    # Another person whose records mention ours (a thread that copied them): those rows stay, redacted.
    other = LeadFactory(first_name="Olive", last_name="Other", email="olive@other-example.org")
    note = events.note_added(lead=other, by=rep, body=f"Olive forwarded this to {FIRST} {LAST} <{EMAIL}>.")
    return SimpleNamespace(
        lead=lead,
        other=other,
        other_note=note,
        customer=customer,
        job=job,
        form=form,
        site=site,
        interactions=Interaction.objects.filter(lead=lead).count(),
    )
