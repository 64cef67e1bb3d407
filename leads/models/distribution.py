"""Distribution: agents' capacity and availability, territories, the smooth weighted round-robin
state per team membership, and phone calls."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .core import Lead, Team


class Agent(models.Model):
    """A sales rep's routing profile (one per user in Sales reps)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    is_active = models.BooleanField(default=True, help_text="Takes new leads and calls.")
    max_open_leads = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    max_new_per_day = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    out_of_office_from = models.DateField(null=True, blank=True)
    out_of_office_until = models.DateField(null=True, blank=True, help_text="Back on the day after.")
    out_of_office_reason = models.CharField(max_length=200, blank=True, help_text="Shown to managers, e.g. holiday.")
    time_zone = models.CharField(max_length=64, default="UTC")
    working_hours = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per weekday 0=Monday: {"0": ["09:00", "17:00"], …}; empty: Monday–Friday 09:00–17:00.',
    )
    phone = models.CharField(max_length=20, blank=True, help_text="E.164; calls for this agent ring here.")
    languages = models.JSONField(default=list, blank=True, help_text='e.g. ["en", "de"]')
    skills = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["phone"], condition=~Q(phone=""), name="agent_phone_idx")]

    def __str__(self) -> str:
        return f"Agent {self.user}"


class TeamSettings(models.Model):
    """Routing settings of a team (one row per team)."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="routing")
    sla_minutes = models.PositiveIntegerField(default=60, help_text="Minutes to first contact, in business hours.")
    require_working_hours = models.BooleanField(default=False, help_text="Skip agents outside their working hours.")
    max_reassignments = models.PositiveSmallIntegerField(
        default=2, help_text="SLA misses before escalating to the manager."
    )
    keep_returning_owner = models.BooleanField(
        default=True, help_text="A returning lead (or its company domain) keeps its owner."
    )
    phone_numbers = models.JSONField(
        default=list, blank=True, help_text='E.164 numbers that ring this team, e.g. ["+442079460000"].'
    )

    def __str__(self) -> str:
        return f"Routing of {self.team}"


class Territory(models.Model):
    """Rules on where a lead is (country, region, postal prefix) and what it is (industry, size,
    source, an attribute); the first matching territory by priority wins; a catch-all matches all."""

    name = models.CharField(max_length=100, unique=True)
    priority = models.PositiveIntegerField(default=100, help_text="Lower comes first.")
    is_catch_all = models.BooleanField(default=False)
    rules = models.JSONField(
        default=dict,
        blank=True,
        help_text='All given keys must match, e.g. {"country": ["GB", "IE"], "postal_prefix": ["EC", "W1"], '
        '"industry": ["Software"], "company_size": ["51-200"], "source": ["web_form"], "region": ["CA"], '
        '"attributes.segment": ["enterprise"]}.',
    )
    teams = models.ManyToManyField(Team, related_name="territories")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["is_catch_all", "priority", "id"]
        verbose_name_plural = "territories"

    def __str__(self) -> str:
        return self.name


class RotationState(models.Model):
    """Smooth weighted round robin: each membership's running 'current weight'. The team's row
    (Team) is locked while a turn is taken, so two workers never use or skip the same turn."""

    membership = models.OneToOneField("leads.TeamMembership", on_delete=models.CASCADE, related_name="rotation")
    current_weight = models.IntegerField(default=0)
    assigned_total = models.PositiveIntegerField(default=0)


class Assignment(models.Model):
    """One placing of a lead (also on the timeline): for load views and response-time figures."""

    class Reason(models.TextChoices):
        ROUND_ROBIN = "round_robin", "Round robin"
        RETURNING = "returning", "Returning lead"
        QUEUE = "queue", "From the queue"
        SLA = "sla", "SLA missed: reassigned"
        ESCALATION = "escalation", "SLA missed: escalated to the manager"
        MANUAL = "manual", "By hand"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="assignments")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    territory = models.ForeignKey(Territory, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.CharField(max_length=300, blank=True)
    assigned_at = models.DateTimeField(default=timezone.now)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-assigned_at"]
        indexes = [
            models.Index(fields=["agent", "-assigned_at"], name="assignment_agent_idx"),
            models.Index(fields=["lead", "-assigned_at"], name="assignment_lead_idx"),
        ]


class Call(models.Model):
    """A phone call routed by POST /api/v1/calls/inbound (or Twilio's voice webhook) and completed
    by …/end (or Twilio's status callback)."""

    class Route(models.TextChoices):
        AGENT = "agent", "Agent"
        TEAM = "team", "Team"
        VOICEMAIL = "voicemail", "Voicemail"

    call_id = models.CharField(max_length=100, unique=True)
    from_number = models.CharField(max_length=20)
    to_number = models.CharField(max_length=20)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    route = models.CharField(max_length=20, choices=Route.choices)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=100, blank=True)
    # Filled by a provider's callbacks: its last call status, the agents rung in turn (user ids),
    # when one of them answered, the voicemail, and whether the call placed an unowned lead.
    status = models.CharField(max_length=20, blank=True)
    rung = models.JSONField(default=list, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    recording_url = models.URLField(max_length=500, blank=True)
    placed_lead = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at"]
