"""Admin for the capture channels: the capture log, web forms, possible duplicates, webhook sources,
website tracking, mailboxes and the messages they took, and import jobs."""

from typing import ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from ..common.pagination import FastCountPaginator
from ..models import (
    CaptureRecord,
    ImportJob,
    InboundEmail,
    Mailbox,
    PageView,
    PossibleDuplicate,
    TrackingSite,
    Visitor,
    WebForm,
    WebhookEvent,
)
from ..permissions import can_import
from .email.imap import mailbox_poll
from .importing import (
    ImportFileError,
    import_check_name,
    import_inspect,
    import_job_start,
    import_too_large_message,
    import_upload_limit,
)
from .tracking import tracking_snippet
from .webforms import embed_snippets
from .webhooks import admin as webhooks_admin  # noqa: F401 - registers the webhook sources' admin

HOSTS_NOT_LIST = 'A list of host names, for example ["www.example.com"].'
PASSWORD_KEPT = "Leave empty to keep the current password."
PASSWORD_REQUIRED = "Enter the mailbox password."


class LogAdmin(admin.ModelAdmin):
    """A read-only log (captures, events, page views): listed fast at any size, never edited."""

    paginator = FastCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CaptureRecord)
class CaptureRecordAdmin(LogAdmin):
    """The request log: every input of every channel, accepted or not, with the reason."""

    list_display = ("received_at", "channel", "source_detail", "result", "reason", "lead", "ip")
    list_filter = ("channel", "result", "web_form", ("received_at", admin.DateFieldListFilter))
    search_fields = ("source_detail", "reason", "ip")
    list_select_related = ("lead",)
    raw_id_fields = ("lead", "web_form")


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "is_active", "team", "rate_limit")
    list_filter = ("is_active",)
    search_fields = ("name", "key")
    readonly_fields = ("embed_snippet",)
    prepopulated_fields: ClassVar[dict] = {"key": ("name",)}
    formfield_overrides: ClassVar[dict] = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="Embed")
    def embed_snippet(self, obj: WebForm) -> str:
        """The iframe and plain-HTML snippets to paste into a site."""
        if not obj.pk:
            return "Save the form to get its embed code."

        iframe, plain = embed_snippets(obj)
        return format_html("<p>As an iframe:</p><pre>{}</pre><p>As a plain HTML form:</p><pre>{}</pre>", iframe, plain)


@admin.register(PossibleDuplicate)
class PossibleDuplicateAdmin(admin.ModelAdmin):
    list_display = ("detected_at", "lead", "other", "reason", "status", "merge_link")
    list_filter = ("status", "reason")
    list_select_related = ("lead", "other")
    raw_id_fields = ("lead", "other", "resolved_by")

    @admin.display(description="Merge")
    def merge_link(self, obj: PossibleDuplicate) -> str:
        if obj.status != PossibleDuplicate.Status.OPEN:
            return "—"
        return format_html('<a href="{}">Compare and merge</a>', reverse("leads:duplicate_merge", args=[obj.pk]))


# --- Webhook sources (chat, ads, webinars) and website tracking ------------------------------


class TrackingSiteForm(forms.ModelForm):
    class Meta:
        model = TrackingSite
        fields = ("name", "key", "allowed_hosts", "honour_dnt", "require_consent", "is_active")

    def clean_allowed_hosts(self) -> list:
        hosts = self.cleaned_data.get("allowed_hosts") or []
        if not isinstance(hosts, list) or not all(isinstance(host, str) for host in hosts):
            raise ValidationError(HOSTS_NOT_LIST)
        return [host.strip().lower() for host in hosts if host.strip()]


@admin.register(TrackingSite)
class TrackingSiteAdmin(admin.ModelAdmin):
    """Websites that run track.js; the change page shows the snippet to paste."""

    form = TrackingSiteForm
    list_display = ("name", "key", "is_active", "honour_dnt", "require_consent", "created_at")
    list_filter = ("is_active", "require_consent")
    search_fields = ("name", "key")
    readonly_fields = ("snippet", "created_at")

    @admin.display(description="Snippet to paste")
    def snippet(self, obj: TrackingSite) -> str:
        """The script tag (and no-JS pixel) for every page of the site."""
        if not obj.pk:
            return "Save the site to get its snippet."
        hosts = "" if obj.allowed_hosts else " No allowed hosts yet: page views from any host are accepted."
        return format_html(
            "<pre>{}</pre><p>Paste it before &lt;/body&gt; on every page.{}</p>", tracking_snippet(site=obj), hosts
        )


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    """Anonymous browsers seen on tracked sites, and the lead each turned out to be."""

    list_display = ("visitor_key", "site", "lead", "first_seen_at", "last_seen_at", "page_views")
    list_filter = ("site",)
    search_fields = ("visitor_key",)
    list_select_related = ("site", "lead")
    raw_id_fields = ("lead",)
    readonly_fields = ("site", "visitor_key", "first_seen_at", "last_seen_at")
    paginator = FastCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Page views")
    def page_views(self, obj: Visitor) -> str:
        url = reverse("admin:leads_pageview_changelist") + f"?visitor__exact={obj.pk}"
        return format_html('<a href="{}">Page views</a>', url)


@admin.register(PageView)
class PageViewAdmin(LogAdmin):
    list_display = ("occurred_at", "site", "visitor__visitor_key", "visit_number", "title", "url")
    list_filter = ("site",)
    search_fields = ("url", "title")
    list_select_related = ("site", "visitor")
    raw_id_fields = ("visitor",)


# --- Email channel: mailboxes polled over IMAP, and the messages taken -------------------


class MailboxForm(forms.ModelForm):
    """The password is never sent back to the browser; an empty field keeps the stored one."""

    password = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False, help_text=PASSWORD_KEPT)

    class Meta:
        model = Mailbox
        fields = ("name", "host", "port", "use_ssl", "username", "password", "folder", "is_active", "team")

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        if password:
            return password
        if self.instance.pk and self.instance.password:
            return self.instance.password
        raise ValidationError(PASSWORD_REQUIRED)


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ("name", "username", "host", "port", "folder", "is_active", "last_polled_at", "poll_status")
    list_filter = ("is_active",)
    search_fields = ("name", "username", "host")
    readonly_fields = ("last_polled_at", "last_error")
    actions = ("poll_now",)

    @admin.display(description="Last poll")
    def poll_status(self, obj: Mailbox) -> str:
        """OK, or the start of the last error."""
        if not obj.last_polled_at:
            return "never polled"
        return f"error: {obj.last_error[:80]}" if obj.last_error else "OK"

    @admin.action(description="Poll now", permissions=["change"])
    def poll_now(self, request: HttpRequest, queryset: QuerySet[Mailbox]):
        """Poll the selected mailboxes at once instead of waiting for beat."""
        for mailbox in queryset:
            result = mailbox_poll(mailbox=mailbox)
            if result.error:
                self.message_user(request, f"{mailbox.name}: {result.error}", messages.ERROR)
            else:
                self.message_user(request, f"{mailbox.name}: {result.taken} message(s) taken.", messages.SUCCESS)


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    """Every message the email channel took, what it was, and the malformed ones to review."""

    list_display = ("received_at", "kind", "from_address", "subject", "lead", "mailbox")
    list_filter = ("kind", "mailbox", ("received_at", admin.DateFieldListFilter))
    search_fields = ("message_id", "from_address", "subject")
    list_select_related = ("lead", "mailbox")
    raw_id_fields = ("lead", "capture", "mailbox")
    readonly_fields = (
        "message_id",
        "mailbox",
        "received_at",
        "from_address",
        "subject",
        "kind",
        "lead",
        "capture_link",
        "error",
    )
    exclude = ("capture",)
    paginator = FastCountPaginator
    show_full_result_count = False

    @admin.display(description="Raw message")
    def capture_link(self, obj: InboundEmail) -> str:
        if not obj.capture_id:
            return "—"
        return format_html(
            '<a href="{}">Capture record #{}</a>',
            reverse("admin:leads_capturerecord_change", args=[obj.capture_id]),
            obj.capture_id,
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- Import jobs: upload a CSV/XLSX file; it runs in the background (docs/import.md) ----------


class ImportJobUploadForm(forms.ModelForm):
    class Meta:
        model = ImportJob
        fields = ("file", "source_detail", "id_column", "dry_run", "date_order", "route_leads")
        help_texts: ClassVar[dict] = {
            "file": "A .csv or .xlsx file whose first row names the columns.",
            "source_detail": "Source detail for every row (otherwise the file's Lead Source column, or the file name).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "date_order" in self.fields:
            self.fields["date_order"].required = False  # month first unless chosen

    def clean_date_order(self) -> str:
        return self.cleaned_data.get("date_order") or ImportJob.DateOrder.MONTH_FIRST

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload:
            try:
                import_check_name(name=upload.name)
                if upload.size > import_upload_limit():
                    raise ImportFileError(import_too_large_message())
                import_inspect(fileobj=upload, name=upload.name, id_column=cleaned.get("id_column", ""))
            except ImportFileError as exc:
                self.add_error(exc.field, exc.message)
        return cleaned


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Managers upload a file here (or on /imports/); the job page shows its progress and report."""

    form = ImportJobUploadForm
    list_display = (
        "created_at",
        "original_name",
        "status",
        "dry_run",
        "progress",
        "created_count",
        "updated_count",
        "rejected_count",
        "created_by",
    )
    list_filter = ("status", "dry_run")
    search_fields = ("original_name", "source_detail")
    list_select_related = ("created_by",)
    upload_fields = ("file", "source_detail", "id_column", "dry_run", "date_order", "route_leads")
    report_fields = (
        "original_name",
        "job_page",
        "status",
        "progress",
        "dry_run",
        "source_detail",
        "id_column",
        "date_order",
        "route_leads",
        "total_rows",
        "processed_rows",
        "created_count",
        "updated_count",
        "rejected_count",
        "skipped_rows",
        "unknown_values",
        "message",
        "rejected_rows",
        "columns",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    )

    def get_fields(self, request, obj=None):
        """An upload form to add a job; a read-only report once it exists."""
        return self.upload_fields if obj is None else self.report_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.report_fields

    def has_module_permission(self, request) -> bool:
        return can_import(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return can_import(request.user)

    def has_add_permission(self, request) -> bool:
        return can_import(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a job is a record of what happened

    def save_model(self, request, obj: ImportJob, form, change: bool) -> None:
        """Store the file and enqueue the import (it runs after the commit)."""
        if not change:
            import_job_start(job=obj, by=request.user)

    def response_add(self, request, obj: ImportJob, post_url_continue=None):
        """Go to the job page with its progress bar."""
        self.message_user(request, f"Import of {obj.original_name} started.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("leads:import_detail", args=[obj.pk]))

    @admin.display(description="Progress")
    def progress(self, obj: ImportJob) -> str:
        return f"{obj.progress_percent}%"

    @admin.display(description="Job page")
    def job_page(self, obj: ImportJob) -> str:
        return format_html('<a href="{}">Progress and report</a>', reverse("leads:import_detail", args=[obj.pk]))

    @admin.display(description="Rejected rows")
    def rejected_rows(self, obj: ImportJob) -> str:
        if not obj.errors:
            return "—"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", ((e.get("line"), e.get("reason")) for e in obj.errors)
        )
        return format_html("<table><tr><th>Line</th><th>Reason</th></tr>{}</table>", rows)

    @admin.display(description="Columns")
    def columns(self, obj: ImportJob) -> str:
        return format_html_join(", ", "{} → {}", sorted(obj.column_map.items())) or "—"


@admin.register(WebhookEvent)
class WebhookEventAdmin(LogAdmin):
    """Event ids already taken (replays of these are ignored)."""

    list_display = ("received_at", "source", "event_id", "capture")
    list_filter = ("source",)
    search_fields = ("event_id",)
    list_select_related = ("source", "capture")
    raw_id_fields = ("capture",)
