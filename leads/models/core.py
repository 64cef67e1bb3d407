"""Leads, their timeline (Interaction) and the sales teams that own them."""

from django import forms
from django.conf import settings
from django.core.validators import validate_email
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Concat, Lower, StrIndex, Substr
from django.urls import reverse
from django.utils import timezone
from django_countries.fields import CountryField

from ..common.normalize import normalize_email


class NormalizedEmailField(models.CharField):
    """An email column that is always stored, and looked up, lower-cased and stripped."""

    default_validators = [validate_email]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return normalize_email(value) if isinstance(value, str) else value

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": forms.EmailField, **kwargs})

    def pre_save(self, model_instance, add):
        value = normalize_email(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_teams"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMembership", related_name="sales_teams", blank=True
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships")
    weight = models.PositiveSmallIntegerField(default=1, help_text="Share of round-robin turns (2 = twice as many).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="teammembership_unique"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="teammembership_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class Lead(models.Model):
    class Source(models.TextChoices):
        WEB_FORM = "web_form", "Web form"
        EMAIL = "email", "Email"
        CHAT = "chat", "Chat"
        WEBHOOK = "webhook", "Webhook"
        IMPORT = "import", "Import"
        API = "api", "API"
        MANUAL = "manual", "Manual"
        CALL = "call", "Phone call"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACTIVE = "active", "Active"
        NURTURING = "nurturing", "Nurturing"
        QUALIFIED = "qualified", "Qualified"
        CONVERTED = "converted", "Converted"
        LOST = "lost", "Lost"

    class Grade(models.TextChoices):
        A = "A", "A"
        B = "B", "B"
        C = "C", "C"
        D = "D", "D"

    class CompanySize(models.TextChoices):
        S1 = "1-10", "1–10"
        S11 = "11-50", "11–50"
        S51 = "51-200", "51–200"
        S201 = "201-500", "201–500"
        S501 = "501-1000", "501–1,000"
        S1001 = "1001-5000", "1,001–5,000"
        S5001 = "5001+", "5,001+"

    class EmailKind(models.TextChoices):
        CORPORATE = "corporate", "Corporate"
        FREE = "free", "Free mail"
        DISPOSABLE = "disposable", "Disposable"
        INVALID = "invalid", "Invalid"

    class PhoneLineType(models.TextChoices):
        MOBILE = "mobile", "Mobile"
        FIXED = "fixed", "Fixed line"
        FIXED_OR_MOBILE = "fixed_or_mobile", "Fixed or mobile"
        TOLL_FREE = "toll_free", "Toll-free"
        VOIP = "voip", "VoIP"
        OTHER = "other", "Other"

    class Seniority(models.TextChoices):
        C_LEVEL = "c_level", "C-level"
        VP = "vp", "VP"
        DIRECTOR = "director", "Director"
        MANAGER = "manager", "Manager"
        INDIVIDUAL = "individual", "Individual contributor"

    class Department(models.TextChoices):
        EXECUTIVE = "executive", "Executive"
        SALES = "sales", "Sales"
        MARKETING = "marketing", "Marketing"
        ENGINEERING = "engineering", "Engineering"
        IT = "it", "IT"
        PRODUCT = "product", "Product"
        FINANCE = "finance", "Finance"
        HR = "hr", "People / HR"
        OPERATIONS = "operations", "Operations"
        SUPPORT = "support", "Customer support"
        LEGAL = "legal", "Legal"
        DESIGN = "design", "Design"
        OTHER = "other", "Other"

    # Person and company
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = NormalizedEmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, for example +442079460958.")
    company = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    website = models.URLField(max_length=500, blank=True)
    country = CountryField(blank=True)
    region = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    company_size = models.CharField(max_length=10, blank=True, choices=CompanySize.choices)

    # Where it came from
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    source_detail = models.CharField(max_length=200, blank=True, help_text="Which form, mailbox or campaign.")
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)

    # Lifecycle and qualification
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    lost_reason = models.CharField(max_length=300, blank=True)
    score = models.PositiveSmallIntegerField(default=0)
    grade = models.CharField(max_length=1, choices=Grade.choices, blank=True)
    probability = models.FloatField(null=True, blank=True)

    # Ownership
    # No index of their own: lead_owner_status_idx and lead_team_owner_idx start with them, and
    # every extra index is paid again on every lead-row write (see bench/README.md).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        db_index=False,
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads", db_index=False
    )

    # Everything else
    external_id = models.CharField(max_length=200, blank=True)
    email_opt_in = models.BooleanField(default=False)
    do_not_contact = models.BooleanField(default=False)
    attributes = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    email_bouncing = models.BooleanField(default=False, help_text="A delivery failure came back for this address.")

    # Filled by enrichment (provenance in EnrichmentValue); scoring rules read them.
    email_kind = models.CharField(max_length=20, choices=EmailKind.choices, blank=True)
    email_is_role = models.BooleanField(default=False, help_text="A role account such as info@ or sales@.")
    phone_line_type = models.CharField(max_length=20, choices=PhoneLineType.choices, blank=True)
    seniority = models.CharField(max_length=20, choices=Seniority.choices, blank=True)
    department = models.CharField(max_length=30, choices=Department.choices, blank=True)
    enriched_at = models.DateTimeField(null=True, blank=True)

    # Scoring (leads/scoring): the parts of the score, and what a person fixed by hand.
    fit_points = models.FloatField(default=0)
    score_logged = models.PositiveSmallIntegerField(default=0, help_text="The score last written to the timeline.")
    engagement_points = models.FloatField(default=0)
    scored_at = models.DateTimeField(null=True, blank=True)
    grade_locked = models.BooleanField(default=False, help_text="Set by hand: rescoring keeps it.")
    status_locked = models.BooleanField(default=False, help_text="Set by hand: scoring never changes it.")

    # Engagement summary, kept up to date by events (see leads/engagement.py).
    page_views_7d = models.PositiveIntegerField(default=0)
    page_views_30d = models.PositiveIntegerField(default=0)
    visits_7d = models.PositiveIntegerField(default=0)
    visits_30d = models.PositiveIntegerField(default=0)
    form_submits = models.PositiveIntegerField(default=0)
    emails_opened = models.PositiveIntegerField(default=0)
    emails_clicked = models.PositiveIntegerField(default=0)
    first_contacted_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True, help_text="When the current owner got the lead.")
    sla_due_at = models.DateTimeField(null=True, blank=True, help_text="First contact is due by then (business hours).")
    reassignments = models.PositiveSmallIntegerField(default=0, help_text="SLA misses so far.")
    last_activity_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the processing pipeline last finished for this lead."
    )
    # Conversion (customers.services.lead_convert)
    converted_customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        db_index=False,
    )
    converted_at = models.DateTimeField(null=True, blank=True)
    converted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    # One lower-cased haystack for ?search= and the global search (name, email, company, phone,
    # job title), kept by the database itself; a trigram GIN index on it (PostgreSQL, migrations
    # 0002 and 0026) makes substring search fast.
    search_text = models.GeneratedField(
        expression=Lower(
            Concat(
                "first_name",
                models.Value(" "),
                "last_name",
                models.Value(" "),
                "email",
                models.Value(" "),
                "company",
                models.Value(" "),
                "phone",
                models.Value(" "),
                "job_title",
                output_field=models.TextField(),
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    # For possible-duplicate checks: the address without its +tag, and its domain.
    email_base = models.GeneratedField(
        expression=models.Case(
            models.When(
                email__contains="+",
                then=Concat(
                    Substr("email", 1, StrIndex("email", models.Value("+")) - 1),
                    Substr("email", StrIndex("email", models.Value("@"))),
                    output_field=models.CharField(),
                ),
            ),
            default=models.F("email"),
            output_field=models.CharField(),
        ),
        output_field=models.CharField(max_length=254),
        db_persist=True,
    )
    email_domain = models.GeneratedField(
        expression=Substr("email", StrIndex("email", models.Value("@")) + 1),
        output_field=models.CharField(max_length=254),
        db_persist=True,
    )

    # Orderings and filters by these fields read their copy in the rank table, whose indexes serve
    # them (leads/models/rank.py): the lead row keeps no index on a score column.
    RANKED_PATHS = {"score": "rank__score", "grade": "rank__grade", "probability": "rank__probability"}

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["email"], condition=~Q(email=""), name="lead_email_unique"),
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="lead_external_id_unique"
            ),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="lead_email_lowercase"),
            models.CheckConstraint(
                condition=Q(phone="") | Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"), name="lead_phone_e164"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["new", "active", "nurturing", "qualified", "converted", "lost"]),
                name="lead_status_valid",
            ),
            models.CheckConstraint(condition=~Q(status="lost") | ~Q(lost_reason=""), name="lead_lost_has_reason"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=100), name="lead_score_range"),
            models.CheckConstraint(
                condition=Q(probability__isnull=True) | Q(probability__gte=0, probability__lte=1),
                name="lead_probability_range",
            ),
            models.CheckConstraint(condition=Q(grade__in=["", "A", "B", "C", "D"]), name="lead_grade_valid"),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="lead_created_idx"),
            models.Index(fields=["status", "-created_at", "-id"], name="lead_status_created_idx"),
            models.Index(fields=["owner", "status", "-created_at"], name="lead_owner_status_idx"),
            models.Index(fields=["team", "owner", "-created_at"], name="lead_team_owner_idx"),
            models.Index(fields=["source", "-created_at"], name="lead_source_created_idx"),
            # No index holds score, grade or probability: a rescore's rewrite of the row is then a HOT
            # update that touches no index (with the fill factor of migration 0038). The orderings
            # and filters by score read the rank table's indexes (leads/models/rank.py).
            # With the id, as every ordering's index: the list's tie-break. Without it, the newest
            # page by `-updated_at` sorted the whole group of leads sharing the newest time (a bulk
            # update stamps thousands with one `now()`): 12,874 rows read for a page of 25.
            models.Index(fields=["-updated_at", "-id"], name="lead_updated_idx"),
            models.Index(fields=["phone"], condition=~Q(phone=""), name="lead_phone_idx"),
            models.Index(fields=["time_zone"], name="lead_time_zone_idx"),
            models.Index(
                fields=["sla_due_at"],
                condition=Q(first_contacted_at__isnull=True, sla_due_at__isnull=False),
                name="lead_sla_open_idx",
            ),
            # The status included (not a key: a key column changed the costs enough for the planner
            # to read a rep's visible leads by a sequential scan), so a rep's status tabs count the
            # team queue from the index alone (leads/workspace/counts.py: 20 -> 6 ms at a million leads).
            models.Index(
                fields=["team"],
                include=["status"],
                condition=Q(owner__isnull=True),
                name="lead_team_waiting_idx",
            ),
            # Automations' "date reached" scan (leads/automations/scans.py) reads these by range.
            models.Index(fields=["assigned_at"], condition=Q(assigned_at__isnull=False), name="lead_assigned_at_idx"),
            models.Index(
                fields=["converted_at"], condition=Q(converted_at__isnull=False), name="lead_converted_at_idx"
            ),
            models.Index(fields=["updated_at"], condition=Q(processed_at__isnull=True), name="lead_unprocessed_idx"),
            models.Index(fields=["email_base"], condition=~Q(email=""), name="lead_email_base_idx"),
            models.Index(
                fields=["converted_customer"], condition=Q(converted_customer__isnull=False), name="lead_customer_idx"
            ),
            models.Index(
                models.F("email_domain"),
                Lower("last_name"),
                Lower("first_name"),
                condition=~Q(email=""),
                name="lead_domain_name_idx",
            ),
            # Privacy requests find a capture kept apart under the person's address (leads.privacy.person).
            models.Index(
                KeyTransform("captured_email", "attributes"),
                condition=Q(attributes__has_key="captured_email"),
                name="lead_held_email_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or self.phone or f"Lead #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("leads:detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class Interaction(models.Model):
    """One thing that happened to a lead: the rows of its timeline."""

    class Kind(models.TextChoices):
        CREATED = "created", "Lead created"
        FORM_SUBMIT = "form_submit", "Form submitted"
        EMAIL_IN = "email_in", "Email received"
        EMAIL_OUT = "email_out", "Email sent"
        CHAT = "chat", "Chat"
        PAGE_VIEW = "page_view", "Page view"
        CALL_IN = "call_in", "Inbound call"
        CALL_OUT = "call_out", "Outbound call"
        NOTE = "note", "Note"
        STATUS_CHANGE = "status_change", "Status changed"
        ASSIGNMENT = "assignment", "Assigned"
        SCORE_CHANGE = "score_change", "Score changed"
        UPDATE = "update", "Details edited"
        CAPTURE = "capture", "Captured"
        EVENT = "event", "External event"
        IMPORT = "import", "Imported"
        MERGE = "merge", "Merged"
        ENRICHMENT = "enrichment", "Enriched"
        EMAIL_OPENED = "email_opened", "Email opened"
        EMAIL_CLICKED = "email_clicked", "Email clicked"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
        CONVERTED = "converted", "Converted to customer"
        TASK = "task", "Task"
        SEQUENCE = "sequence", "Nurture sequence"
        EMAIL_BOUNCED = "email_bounced", "Email bounced"
        AUTOMATION = "automation", "Automation"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=20, blank=True, help_text="The channel it happened on, if any.")
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "-occurred_at", "-id"], name="interaction_lead_time_idx"),
            models.Index(fields=["kind", "-occurred_at"], name="interaction_kind_time_idx"),
            # The dashboards' funnel: which lost leads had reached qualified (a year: 733 → 175 ms).
            models.Index(
                fields=["occurred_at", "lead"],
                condition=Q(kind="status_change", data__to="qualified"),
                name="interaction_qualified_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.occurred_at:%Y-%m-%d %H:%M}"
