"""Lead scoring: the rules managers tune, the settings that combine them, the learned model,
and the status row of a bulk rescore."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class ScoringRule(models.Model):
    """Points (negative allowed) for a condition on a lead field/attribute (fit) or on events (engagement)."""

    class Group(models.TextChoices):
        FIT = "fit", "Fit (who they are)"
        ENGAGEMENT = "engagement", "Engagement (what they did)"

    class Operator(models.TextChoices):
        EQUALS = "equals", "equals"
        IN = "in", "is one of"
        CONTAINS = "contains", "contains"
        GT = "gt", "greater than"
        LT = "lt", "less than"
        IS_SET = "is_set", "is set"

    class Event(models.TextChoices):
        PAGE_VIEW = "page_view", "Page view (URL matches the pattern)"
        FORM_SUBMIT = "form_submit", "Form submit"
        EMAIL_OPENED = "email_opened", "Email opened"
        EMAIL_CLICKED = "email_clicked", "Email clicked"
        EMAIL_REPLIED = "email_replied", "Email replied"
        CALL = "call", "Call"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribe"

    name = models.CharField(max_length=100)
    group = models.CharField(max_length=20, choices=Group.choices)
    field = models.CharField(max_length=100, blank=True, help_text="A lead field, or attributes.<name>.")
    operator = models.CharField(max_length=20, choices=Operator.choices, blank=True)
    value = models.JSONField(null=True, blank=True, help_text='e.g. "corporate", ["GB", "DE"], 100.')
    event = models.CharField(max_length=20, choices=Event.choices, blank=True)
    url_pattern = models.CharField(
        max_length=300,
        blank=True,
        help_text="For page views: a substring of the URL, e.g. /pricing (case-insensitive).",
    )
    points = models.SmallIntegerField(help_text="Per match: once for a field rule, per event for an event rule.")
    cap = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="At most this many points (in absolute value) from this rule."
    )
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["group", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(group="fit") & ~Q(field="") & ~Q(operator="") & Q(event=""))
                | (Q(group="engagement") & ~Q(event="")),
                name="scoringrule_fit_field_or_engagement_event",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"


class ScoringConfig(models.Model):
    """The one row of scoring settings (pk=1)."""

    class Decay(models.TextChoices):
        HALF_LIFE = "half_life", "Half-life"
        LINEAR = "linear", "Linear: a percentage per period"

    fit_cap = models.PositiveSmallIntegerField(default=50)
    engagement_cap = models.PositiveSmallIntegerField(default=50)
    decay = models.CharField(max_length=20, choices=Decay.choices, default=Decay.HALF_LIFE)
    half_life_days = models.PositiveSmallIntegerField(default=30)
    linear_percent = models.PositiveSmallIntegerField(default=10, help_text="Points lost per period, in percent.")
    linear_period_days = models.PositiveSmallIntegerField(default=7)
    probability_weight = models.FloatField(
        default=0.4, help_text="Share of the score that comes from the learned probability (0-1) when there is one."
    )
    grade_a = models.PositiveSmallIntegerField(default=75, help_text="Score at or above: grade A.")
    grade_b = models.PositiveSmallIntegerField(default=50)
    grade_c = models.PositiveSmallIntegerField(default=25)
    mql_threshold = models.PositiveSmallIntegerField(
        default=70, help_text="A new, active or nurturing lead at or above this score becomes qualified."
    )
    significant_change = models.PositiveSmallIntegerField(
        default=5, help_text="Score changes of at least this many points go on the timeline."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(probability_weight__gte=0, probability_weight__lte=1), name="scoringconfig_weight_range"
            ),
            models.CheckConstraint(
                condition=Q(grade_a__gte=F("grade_b"), grade_b__gte=F("grade_c")), name="scoringconfig_grades_ordered"
            ),
        ]

    def __str__(self) -> str:
        return "Scoring settings"

    @classmethod
    def current(cls) -> "ScoringConfig":
        config, _ = cls.objects.get_or_create(pk=1)
        return config


class ScoringModel(models.Model):
    """One training of the predictive model; the newest ready one is used."""

    class Status(models.TextChoices):
        READY = "ready", "Ready"
        INSUFFICIENT = "insufficient", "Too little history"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        LOGISTIC = "logistic", "Logistic regression"
        BOOSTED = "boosted", "Gradient-boosted trees"

    trained_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=Status.choices)
    message = models.TextField(blank=True)
    n_closed = models.PositiveIntegerField(default=0)
    n_won = models.PositiveIntegerField(default=0)
    n_lost = models.PositiveIntegerField(default=0)
    auc = models.FloatField(null=True, blank=True, help_text="On the held-out split.")
    calibration = models.JSONField(
        default=list, blank=True, help_text="[{predicted, observed, count}] per bin, held-out."
    )
    intercept = models.FloatField(default=0)
    features = models.JSONField(
        default=list, blank=True, help_text="[{feature, value, label, weight}] chosen features."
    )
    duration_seconds = models.FloatField(null=True, blank=True)
    # Which kind of model won the choice on held-out leads (leads/scoring/predictive/choice.py).
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.LOGISTIC)
    metrics = models.JSONField(
        default=dict, blank=True, help_text="Held-out (and cross-validated) log loss and AUC of each candidate model."
    )
    trees = models.JSONField(
        default=dict, blank=True, help_text="A boosted model's input columns and trees (empty for logistic regression)."
    )

    class Meta:
        ordering = ["-trained_at"]
        indexes = [models.Index(fields=["status", "-trained_at"], name="scoringmodel_status_idx")]

    def __str__(self) -> str:
        return f"Model of {self.trained_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"


class ScoreJob(models.Model):
    """A bulk rescore: a status row the UI polls for its progress bar."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)
    # The work is split into id ranges that the workers take in parallel.
    chunks = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    logged = models.PositiveIntegerField(default=0, help_text="Significant score changes written to timelines.")
    qualified = models.PositiveIntegerField(default=0, help_text="Leads that reached the MQL threshold.")
    ranges_done = models.JSONField(
        default=list, blank=True, help_text="First ids of the ranges done (each counts once)."
    )

    class Meta:
        ordering = ["-created_at"]

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(100, round(100 * self.processed / self.total)) if self.total else 0
