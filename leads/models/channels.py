"""Configuration and state of the capture channels beyond web forms: mailboxes (email),
webhook sources (chat, ads, webinars), tracked websites, and imports."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .capture import CaptureRecord, _new_key, _new_secret
from .core import Lead, Team


class Mailbox(models.Model):
    """An IMAP mailbox polled by beat; each new message goes through the email channel."""

    name = models.CharField(max_length=100)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    use_ssl = models.BooleanField(
        default=True, help_text="IMAP over TLS (port 993). Off: plain IMAP, upgraded with STARTTLS when offered."
    )
    username = models.CharField(max_length=255)
    password = models.CharField(max_length=255)
    folder = models.CharField(max_length=255, default="INBOX")
    is_active = models.BooleanField(default=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.username}@{self.host})"


class InboundEmail(models.Model):
    """One received message and what the email channel made of it. The unique Message-ID
    makes ingestion idempotent: a message is never taken twice."""

    class Kind(models.TextChoices):
        NEW_LEAD = "new_lead", "New lead"
        KNOWN_LEAD = "known_lead", "From a known lead"
        REPLY = "reply", "Reply to our message"
        BOUNCE = "bounce", "Bounce / delivery report"
        AUTO_REPLY = "auto_reply", "Auto-reply"
        LIST = "list", "Mailing-list traffic"
        OWN = "own", "Our own outgoing mail"
        MALFORMED = "malformed", "Malformed (stored for review)"
        LOGGED = "logged", "A rep's own mail, BCC'd or forwarded to the logging address"

    message_id = models.CharField(max_length=998, blank=True)
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    received_at = models.DateTimeField(default=timezone.now)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_emails")
    capture = models.ForeignKey(CaptureRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"], condition=~Q(message_id=""), name="inboundemail_message_id_unique"
            ),
        ]
        indexes = [models.Index(fields=["kind", "-received_at"], name="inboundemail_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class OutboundMessage(models.Model):
    """Message-IDs of mail we sent to a lead, so replies (In-Reply-To/References) find it."""

    message_id = models.CharField(max_length=998, unique=True)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="outbound_messages")
    subject = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.message_id


class WebhookSource(models.Model):
    """A tool that posts leads to /api/v1/capture/webhook/<key> (chat, ads, webinars…)."""

    class Channel(models.TextChoices):
        CHAT = "chat", "Chat"
        ADS = "ads", "Ads lead form"
        WEBINAR = "webinar", "Webinar"
        SOCIAL = "social", "Social"
        FORM = "form", "Form"
        MEETING = "meeting", "Meeting"
        OTHER = "other", "Other"

    class Provider(models.TextChoices):
        # Each knows its tool's signature, handshakes, event id and default mapping
        # (leads/capture/webhooks/<provider>.py).
        GENERIC = "generic", "LeadCRM (X-LeadCRM-Signature)"
        TYPEFORM = "typeform", "Typeform"
        ZOOM = "zoom", "Zoom"
        CALENDLY = "calendly", "Calendly"
        INTERCOM = "intercom", "Intercom"
        META = "meta", "Meta Lead Ads"
        GOOGLE_ADS = "google_ads", "Google Ads lead forms"
        UNBOUNCE = "unbounce", "Unbounce"

    name = models.CharField(max_length=100)
    key = models.SlugField(max_length=50, unique=True, default=_new_key)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.OTHER)
    provider = models.CharField(max_length=20, choices=Provider.choices, default=Provider.GENERIC)
    secret = models.CharField(
        max_length=200,
        default=_new_secret,
        help_text="What proves a delivery is the tool's: LeadCRM's own signing secret, or the provider's secret pasted here.",
    )
    verify_token = models.CharField(
        max_length=200,
        blank=True,
        help_text="Meta Lead Ads: the Verify Token typed into the app dashboard's webhook setup.",
    )
    access_token = models.CharField(
        max_length=500,
        blank=True,
        help_text="Meta Lead Ads: a page access token with leads_retrieval, to read each lead.",
    )
    form_ids = models.JSONField(
        default=list,
        blank=True,
        help_text="Meta Lead Ads: form ids the backfill lists (forms seen in webhooks are added).",
    )
    synced_at = models.DateTimeField(null=True, blank=True, help_text="Meta Lead Ads: the last complete backfill.")
    mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text='Lead field (or attributes.<name>) → dotted path in the JSON, e.g. {"email": "contact.email"}.',
    )
    event_id_path = models.CharField(
        max_length=200, blank=True, help_text="Dotted path of the event id; replays are ignored."
    )
    transcript_path = models.CharField(max_length=200, blank=True, help_text="Dotted path of a chat transcript.")
    is_active = models.BooleanField(default=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    default_tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    provider__in=[
                        "generic",
                        "typeform",
                        "zoom",
                        "calendly",
                        "intercom",
                        "meta",
                        "google_ads",
                        "unbounce",
                    ]
                ),
                name="webhooksource_provider_valid",
            ),
        ]
        # The backfill's beat task lists active Meta sources.
        indexes = [models.Index(fields=["provider", "is_active"], name="webhooksource_provider_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_channel_display()})"


class WebhookEvent(models.Model):
    """Event ids already taken from a source: the unique pair drops replays."""

    source = models.ForeignKey(WebhookSource, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=200)
    received_at = models.DateTimeField(default=timezone.now)
    capture = models.ForeignKey(CaptureRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "event_id"], name="webhookevent_unique")]


class TrackingSite(models.Model):
    """A website that runs the tracking script with this key."""

    name = models.CharField(max_length=100)
    key = models.SlugField(max_length=50, unique=True, default=_new_key)
    allowed_hosts = models.JSONField(
        default=list, blank=True, help_text='Hosts whose pages may report views, e.g. ["www.example.com"].'
    )
    honour_dnt = models.BooleanField(default=True, help_text="Record nothing for browsers that send Do-Not-Track.")
    require_consent = models.BooleanField(
        default=False, help_text="Record only after the page signals the visitor's consent."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Visitor(models.Model):
    """An anonymous browser (first-party cookie id) on a tracked site; linked to a lead once known."""

    site = models.ForeignKey(TrackingSite, on_delete=models.CASCADE, related_name="visitors")
    visitor_key = models.CharField(max_length=64)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="visitors")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "visitor_key"], name="visitor_site_key_unique")]
        indexes = [
            models.Index(fields=["lead"], name="visitor_lead_idx"),
            # visitor_key alone: identifying a visitor across sites, and a built form greeting a returning one.
            models.Index(fields=["visitor_key"], name="visitor_key_idx"),
            # The retention purge drops anonymous visitors not seen for a while (leads.privacy.retention).
            models.Index(fields=["last_seen_at"], condition=Q(lead__isnull=True), name="visitor_anonymous_seen_idx"),
        ]


class PageView(models.Model):
    site = models.ForeignKey(TrackingSite, on_delete=models.CASCADE, related_name="+")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="page_views")
    url = models.CharField(max_length=2000)
    title = models.CharField(max_length=300, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    visit_number = models.PositiveIntegerField(
        default=1, help_text="Views more than 30 minutes apart start a new visit."
    )

    class Meta:
        indexes = [
            models.Index(fields=["visitor", "occurred_at"], name="pageview_visitor_time_idx"),
            # Segments: "visited a URL in the last N days" starts from the recent views.
            models.Index(fields=["occurred_at"], name="pageview_time_idx"),
        ]


class ImportJob(models.Model):
    """A CSV/XLSX import: a status row the UI polls for its progress bar."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Mapping columns"
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class DateOrder(models.TextChoices):
        MONTH_FIRST = "mdy", "Month first (11/3/2025 is November 3)"
        DAY_FIRST = "dmy", "Day first (3/11/2025 is November 3)"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    source_detail = models.CharField(max_length=200, blank=True)
    id_column = models.CharField(max_length=100, blank=True, help_text="Column holding a stable id (external_id).")
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="Rejected rows: line and reason (the first 1,000).")
    add_to_list = models.ForeignKey(
        "leads.Segment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"kind": "static"},
        help_text="A static list every imported lead joins.",
    )
    column_map = models.JSONField(default=dict, blank=True)
    column_choices = models.JSONField(
        default=dict,
        blank=True,
        help_text="The mapping step's choices: column -> field, attributes.<column> or _skip.",
    )
    status_map = models.JSONField(
        default=dict,
        blank=True,
        help_text="Statuses of the file (folded) -> ours, beside the default table.",
    )
    date_order = models.CharField(max_length=3, choices=DateOrder.choices, default=DateOrder.MONTH_FIRST)
    route_leads = models.BooleanField(
        default=True,
        help_text="Route the new leads to reps' queues (off: a trade-show list starts no SLA clocks).",
    )
    unknown_values = models.JSONField(
        default=dict,
        blank=True,
        help_text='Values the import did not know: {"status": {value: rows}, "owner": {…}}.',
    )
    skipped_rows = models.PositiveIntegerField(default=0, help_text="Footer lines of a report export, not leads.")
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"], name="importjob_status_idx")]

    def __str__(self) -> str:
        return f"Import {self.original_name} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))
