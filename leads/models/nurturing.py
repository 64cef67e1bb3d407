"""Nurturing: dynamic segments and static lists, sequences of steps, enrollments, the claim row
of every step run (the idempotency key of a send), and the addresses we must never mail."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .core import Lead, NormalizedEmailField


class Segment(models.Model):
    """A dynamic segment (a condition tree evaluated as SQL) or a static list (members added by hand,
    by a bulk action or by import). For a dynamic segment, the members are the snapshot of its last
    evaluation: comparing against it tells which leads entered."""

    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", "Dynamic segment"
        STATIC = "static", "Static list"

    name = models.CharField(max_length=150, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DYNAMIC)
    description = models.TextField(blank=True)
    definition = models.JSONField(
        default=dict,
        blank=True,
        help_text='Condition tree: {"match": "all"|"any", "conditions": [{"field": …, "op": …, "value": …} or a nested group]}.',
    )
    refresh_on_schedule = models.BooleanField(
        default=True, help_text="Re-evaluate periodically; leads that enter enroll in the sequences starting from it."
    )
    size = models.PositiveIntegerField(default=0, help_text="Members at the last evaluation.")
    evaluated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["dynamic", "static"]), name="segment_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """A lead in a static list, or in a dynamic segment's last evaluation."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="segment_memberships")
    added_at = models.DateTimeField(default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "lead"], name="segmentmember_unique")]
        indexes = [models.Index(fields=["lead"], name="segmentmember_lead_idx")]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.segment_id}"


class SegmentSnapshot(models.Model):
    """A segment's size at one moment: its size over time."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField(default=timezone.now)
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["-taken_at"]
        indexes = [models.Index(fields=["segment", "-taken_at"], name="segmentsnapshot_idx")]


class Sequence(models.Model):
    """An ordered list of steps a not-yet-ready lead goes through."""

    name = models.CharField(max_length=150, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive: nobody new enrolls and due steps wait.")
    from_name = models.CharField(
        max_length=150, blank=True, help_text="Blank: the lead's owner, else the default sender."
    )
    from_email = models.EmailField(blank=True, help_text="Blank: DEFAULT_FROM_EMAIL.")
    reply_to = models.EmailField(blank=True)
    entry_segment = models.ForeignKey(
        Segment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="entry_sequences",
        help_text="Leads entering this segment enroll.",
    )
    entry_statuses = models.JSONField(
        default=list,
        blank=True,
        help_text='Pipeline rule: enroll leads with one of these statuses, e.g. ["nurturing"].',
    )
    entry_grades = models.JSONField(
        default=list, blank=True, help_text='Pipeline rule: enroll leads with one of these grades, e.g. ["C", "D"].'
    )
    allow_reenroll = models.BooleanField(default=False, help_text="A lead who finished or left may enroll again.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


BRANCH_TARGET_LATER = "The branch target must be a later step of this sequence."


class SequenceStep(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", "Send email"
        WAIT = "wait", "Wait"
        BRANCH = "branch", "Branch"
        TASK = "task", "Create a task for the owner"
        STATUS = "status", "Change status"

    class BranchOn(models.TextChoices):
        OPENED = "opened", "Opened an email of this sequence"
        CLICKED = "clicked", "Clicked an email of this sequence"
        SCORE_GTE = "score_gte", "Score at least"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Send email: Django template syntax, rendered in a sandbox (see leads/common/rendering).
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(
        blank=True, help_text="Plain text with {{ lead.first_name }} etc.; the HTML part is made from it."
    )
    # Wait: N days, or until a weekday and time in the lead's time zone.
    wait_days = models.PositiveIntegerField(null=True, blank=True)
    wait_weekday = models.PositiveSmallIntegerField(null=True, blank=True, choices=Weekday.choices)
    wait_time = models.TimeField(null=True, blank=True)
    # Branch: when the condition holds go to branch_target (a later step), otherwise to the next step.
    branch_on = models.CharField(max_length=10, choices=BranchOn.choices, blank=True)
    branch_value = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The score threshold.")
    branch_target = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A later step; empty: end the sequence when the condition holds.",
    )
    # Create a task.
    task_title = models.CharField(max_length=200, blank=True)
    task_due_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # Change status.
    new_status = models.CharField(max_length=20, choices=Lead.Status.choices, blank=True)

    class Meta:
        ordering = ["sequence", "position", "id"]
        indexes = [models.Index(fields=["sequence", "position"], name="sequencestep_position_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["email", "wait", "branch", "task", "status"]), name="sequencestep_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position + 1}. {self.get_kind_display()}"

    def clean(self):
        """A branch only jumps ahead, within its own sequence: a jump back would loop for ever."""
        target = self.branch_target
        if self.kind != self.Kind.BRANCH or target is None:
            return
        if (
            target.sequence_id != self.sequence_id
            or (self.pk and target.pk == self.pk)
            or target.position <= self.position
        ):
            raise ValidationError({"branch_target": BRANCH_TARGET_LATER})


class Enrollment(models.Model):
    """One lead going through one sequence; `step` is the next step to run at `next_run_at`."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        EXITED = "exited", "Exited"

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        SEGMENT = "segment", "Entered the segment"
        RULE = "rule", "Pipeline rule"
        AUTOMATION = "automation", "Automation"

    class ExitReason(models.TextChoices):
        REPLIED = "replied", "Replied"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced or complained"
        CONVERTED = "converted", "Converted"
        LOST = "lost", "Lost"
        QUALIFIED = "qualified", "Qualified: handed to sales"
        NOT_MAILABLE = "not_mailable", "No consent or do-not-contact"
        MANUAL = "manual", "Removed by hand"
        END = "end", "Reached the end"

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="enrollments")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="enrollments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    exit_reason = models.CharField(max_length=20, choices=ExitReason.choices, blank=True)
    step = models.ForeignKey(SequenceStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    next_run_at = models.DateTimeField(null=True, blank=True)
    enrolled_at = models.DateTimeField(default=timezone.now)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "lead"], condition=Q(status="active"), name="enrollment_active_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["next_run_at"], condition=Q(status="active"), name="enrollment_due_idx"),
            models.Index(fields=["lead", "status"], name="enrollment_lead_idx"),
            models.Index(fields=["sequence", "status", "next_run_at"], name="enrollment_sequence_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.sequence_id} ({self.status})"


class StepRun(models.Model):
    """One step run for one enrollment. The row is claimed (inserted) before any side effect, and
    (enrollment, step) is unique: a retried task or a second worker never sends twice."""

    class Status(models.TextChoices):
        CLAIMED = "claimed", "Claimed"
        SENT = "sent", "Sent"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="runs")
    step = models.ForeignKey(SequenceStep, on_delete=models.CASCADE, related_name="runs")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CLAIMED)
    claimed_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    to_email = models.CharField(max_length=254, blank=True)
    to_domain = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    message_id = models.CharField(max_length=998, blank=True)
    error = models.TextField(blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-claimed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["enrollment", "step"], name="steprun_unique")]
        indexes = [
            models.Index(fields=["to_domain", "claimed_at"], condition=~Q(to_domain=""), name="steprun_domain_idx"),
            models.Index(fields=["claimed_at"], condition=~Q(to_domain=""), name="steprun_sent_time_idx"),
            models.Index(fields=["step", "status"], name="steprun_step_idx"),
            models.Index(fields=["lead"], name="steprun_lead_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.step_id} for {self.enrollment_id}: {self.status}"


class EmailSuppression(models.Model):
    """An address we never mail again (unsubscribe, hard bounce, complaint), across all sequences."""

    class Reason(models.TextChoices):
        UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
        BOUNCE = "bounce", "Bounced"
        COMPLAINT = "complaint", "Complaint"
        MANUAL = "manual", "Added by hand"
        WITHDRAWN = "withdrawn", "Consent withdrawn"

    email = NormalizedEmailField(unique=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"
