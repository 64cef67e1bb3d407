"""factory_boy factories for each stage's models: capture, distribution, enrichment, scoring,
nurturing, the rep's workspace, settings, outbound webhooks and telephony. Each fills only what
the model requires; a test names what it relies on."""

import factory
from django.utils import timezone

from leads import models as m

from .core import LeadFactory, ManagerFactory, RepFactory, TeamFactory, UserFactory

# --- capture -----------------------------------------------------------------------------------


class WebFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.WebForm

    name = factory.Sequence(lambda n: f"Form {n}")
    key = factory.Sequence(lambda n: f"form-{n}")


class CaptureRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.CaptureRecord

    channel = "web_form"
    result = "created"
    lead = factory.SubFactory(LeadFactory)


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Consent

    lead = factory.SubFactory(LeadFactory)
    text = "I agree to be contacted about the product."


class PossibleDuplicateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PossibleDuplicate

    lead = factory.SubFactory(LeadFactory)
    other = factory.SubFactory(LeadFactory)
    reason = "same_phone"


class TrackingSiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.TrackingSite

    name = factory.Sequence(lambda n: f"Site {n}")


class VisitorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Visitor

    site = factory.SubFactory(TrackingSiteFactory)
    visitor_key = factory.Sequence(lambda n: f"visitor-{n:08d}")


class PageViewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PageView

    visitor = factory.SubFactory(VisitorFactory)
    site = factory.SelfAttribute("visitor.site")
    url = factory.Sequence(lambda n: f"https://example.com/page/{n}")


class WebhookSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.WebhookSource

    name = factory.Sequence(lambda n: f"Webhook source {n}")


class MailboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Mailbox

    name = factory.Sequence(lambda n: f"Mailbox {n}")
    host = "127.0.0.1"
    username = factory.Sequence(lambda n: f"inbox{n}")
    password = "secret"


class OutboundMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.OutboundMessage

    lead = factory.SubFactory(LeadFactory)
    message_id = factory.Sequence(lambda n: f"<out-{n}@leadcrm.test>")


class ImportJobFactory(factory.django.DjangoModelFactory):
    """A queued import with no file yet: a test that runs it saves one (`job.file.save(...)`)."""

    class Meta:
        model = m.ImportJob

    created_by = factory.SubFactory(ManagerFactory)
    original_name = factory.Sequence(lambda n: f"import-{n}.csv")


# --- distribution -------------------------------------------------------------------------------


class TerritoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Territory

    name = factory.Sequence(lambda n: f"Territory {n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Agent

    user = factory.SubFactory(RepFactory)


class TeamSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.TeamSettings

    team = factory.SubFactory(TeamFactory)


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Assignment

    lead = factory.SubFactory(LeadFactory)
    reason = "round_robin"


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Call

    call_id = factory.Sequence(lambda n: f"CA{n:032d}")
    from_number = "+14155550100"
    to_number = "+14155550199"
    route = "agent"


# --- enrichment ---------------------------------------------------------------------------------


class EnrichmentValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.EnrichmentValue

    lead = factory.SubFactory(LeadFactory)
    field = "job_title"
    value = "Founder"
    provider = "test"
    confidence = 0.9
    status = m.EnrichmentValue.Status.APPLIED


# --- scoring ------------------------------------------------------------------------------------


class ScoringRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ScoringRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    group = "fit"
    field = "country"
    operator = "equals"
    value = "DE"
    points = 10


class EngagementRuleFactory(ScoringRuleFactory):
    """An event rule: points per matching event, no field condition."""

    group = m.ScoringRule.Group.ENGAGEMENT
    field = ""
    operator = ""
    value = None
    event = m.ScoringRule.Event.PAGE_VIEW


class ScoringModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ScoringModel

    status = "ready"


class ScoreJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ScoreJob


# --- nurturing ----------------------------------------------------------------------------------


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Segment

    name = factory.Sequence(lambda n: f"Segment {n}")


class StaticListFactory(SegmentFactory):
    kind = m.Segment.Kind.STATIC


class SegmentMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.SegmentMember

    segment = factory.SubFactory(StaticListFactory)
    lead = factory.SubFactory(LeadFactory)


class SequenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Sequence

    name = factory.Sequence(lambda n: f"Sequence {n}")


class SequenceStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.SequenceStep

    sequence = factory.SubFactory(SequenceFactory)
    kind = m.SequenceStep.Kind.EMAIL


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Enrollment

    sequence = factory.SubFactory(SequenceFactory)
    lead = factory.SubFactory(LeadFactory)


class EmailSuppressionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.EmailSuppression

    email = factory.Sequence(lambda n: f"suppressed{n}@example.com")
    reason = "unsubscribe"


class StepRunFactory(factory.django.DjangoModelFactory):
    """A step run of an enrollment: the step belongs to the enrollment's sequence, the lead is the enrollment's."""

    class Meta:
        model = m.StepRun

    enrollment = factory.SubFactory(EnrollmentFactory)
    step = factory.SubFactory(SequenceStepFactory, sequence=factory.SelfAttribute("..enrollment.sequence"))
    lead = factory.SelfAttribute("enrollment.lead")


# --- the rep's workspace and email ----------------------------------------------------------------


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Task

    lead = factory.SubFactory(LeadFactory)
    title = factory.Sequence(lambda n: f"Call back #{n}")


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Notification

    user = factory.SubFactory(RepFactory)
    kind = "assigned"
    message = "A lead was assigned to you."


class SavedViewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.SavedView

    user = factory.SubFactory(RepFactory)
    name = factory.Sequence(lambda n: f"View {n}")


class UserPreferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.UserPreference
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)


class EmailTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.EmailTemplate

    owner = factory.SubFactory(RepFactory)
    name = factory.Sequence(lambda n: f"Template {n}")
    subject = "Following up"
    body = "Hi {{ lead.first_name }}, following up on your request."


class SettingsChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.SettingsChange

    area = m.SettingsChange.Area.TEAM
    object_repr = factory.Sequence(lambda n: f"Team {n}")
    action = m.SettingsChange.Action.CHANGED


# --- outbound webhooks, jobs, telephony -------------------------------------------------------------


class WebhookSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.WebhookSubscription

    url = factory.Sequence(lambda n: f"https://hooks.example.com/{n}")
    secret = factory.Sequence(lambda n: f"whsec_{n:032d}")


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.WebhookDelivery

    subscription = factory.SubFactory(WebhookSubscriptionFactory)
    event_type = "lead.created"
    payload = factory.LazyFunction(dict)


class OutboxJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.OutboxJob

    task_name = "leads.tasks.process_lead_task"
    due_at = factory.LazyFunction(timezone.now)


class TwilioAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.TwilioAccount

    name = factory.Sequence(lambda n: f"Twilio {n}")
    account_sid = factory.Sequence(lambda n: f"AC{n:032x}")
    auth_token = factory.Sequence(lambda n: f"{n:032x}")
