"""Automations (docs/automations.md): a trigger, conditions (a segment condition tree) and ordered
actions a manager builds; every run on every lead is an AutomationRun with one RunStep per action."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .core import Lead

# The trigger values, for the model's check constraint (the Meta cannot see the class's choices).
TRIGGERS = [
    "lead_created",
    "field_changed",
    "status_changed",
    "qualified",
    "assigned",
    "form_submitted",
    "page_visited",
    "email_replied",
    "email_bounced",
    "inactive",
    "manual",
    "score_crossed",
    "sla_breached",
    "date_reached",
]


class Automation(models.Model):
    """What a manager wires: when `trigger` fires for a lead that matches `conditions`, run `actions`."""

    class Trigger(models.TextChoices):
        LEAD_CREATED = "lead_created", "Lead created"
        FIELD_CHANGED = "field_changed", "Field changed"
        STATUS_CHANGED = "status_changed", "Status changed"
        QUALIFIED = "qualified", "Qualified"
        ASSIGNED = "assigned", "Assigned or reassigned"
        FORM_SUBMITTED = "form_submitted", "Form submitted"
        PAGE_VISITED = "page_visited", "Page visited"
        EMAIL_REPLIED = "email_replied", "Email replied"
        EMAIL_BOUNCED = "email_bounced", "Email bounced or unsubscribed"
        INACTIVE = "inactive", "Inactive for N days"
        MANUAL = "manual", "Manual (from the lead list)"
        SCORE_CROSSED = "score_crossed", "Score or grade crossed a threshold"
        SLA_BREACHED = "sla_breached", "First-contact SLA breached"
        DATE_REACHED = "date_reached", "A date field reached (N days before/after)"

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=False)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    # Trigger parameters, by trigger (cleaned by leads.automations.definition): source, field/from/to,
    # url pattern, form, days.
    trigger_params = models.JSONField(default=dict, blank=True)
    # The segment builder's condition tree (leads.nurturing.segments): one definition of a condition.
    conditions = models.JSONField(default=dict, blank=True)
    # The ordered actions: [{"type": "set_status", "status": "nurturing"}, …] (leads.automations.actions).
    actions = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(trigger__in=TRIGGERS),
                name="automation_trigger_known",
            ),
        ]
        indexes = [models.Index(fields=["trigger"], condition=Q(enabled=True), name="automation_enabled_idx")]

    def __str__(self) -> str:
        return self.name


class AutomationRun(models.Model):
    """One run of one automation on one lead, for one trigger occurrence (`trigger_key`, unique per
    automation and lead, so a task delivered twice starts one run)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Conditions not met"
        FAILED = "failed", "Failed"
        STOPPED = "stopped", "Stopped by the loop guard"
        CANCELLED = "cancelled", "Cancelled (automation disabled)"

    OPEN = (Status.PENDING, Status.RUNNING, Status.WAITING)

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="runs")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="automation_runs")
    trigger_event = models.CharField(max_length=40)
    trigger_key = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    depth = models.PositiveSmallIntegerField(default=1)
    position = models.PositiveSmallIntegerField(default=0, help_text="The next action to run.")
    resume_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["automation", "lead", "trigger_key"], name="automation_run_once"),
            models.CheckConstraint(condition=Q(depth__gte=1), name="automation_run_depth_positive"),
            models.CheckConstraint(
                condition=~Q(status="waiting") | Q(resume_at__isnull=False),
                name="automation_run_waiting_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["automation", "-created_at"], name="automation_run_list_idx"),
            models.Index(
                fields=["resume_at"],
                condition=Q(status__in=["pending", "running", "waiting"]),
                name="automation_run_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id} on lead {self.lead_id}: {self.status}"


class RunStep(models.Model):
    """One action of a run. The row is claimed (created and locked) before the action's side effect,
    in the same transaction, so a repeated task finds it done and does nothing twice."""

    class Outcome(models.TextChoices):
        CLAIMED = "claimed", "Claimed"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(AutomationRun, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=20)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.CLAIMED)
    detail = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "position"], name="automation_step_once")]

    def __str__(self) -> str:
        return f"step {self.position} {self.action}: {self.outcome}"
