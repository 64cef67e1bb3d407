"""Django admin for managers: leads with their timeline, teams, bulk assign and status."""
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from . import jobs
from .models import (
    CaptureRecord, Interaction, Lead, PossibleDuplicate, ScoreJob, ScoringConfig, ScoringRule, Team, TeamMembership, WebForm,
)
from .pagination import FastCountPaginator
from .services import lead_bulk_assign, lead_bulk_set_status, lead_update


class LogAdmin(admin.ModelAdmin):
    """A read-only log (captures, events, page views): listed fast at any size, never edited."""

    paginator = FastCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class InteractionInline(admin.TabularInline):
    model = Interaction
    extra = 0
    fields = ("occurred_at", "kind", "actor", "channel", "subject")
    readonly_fields = fields
    show_change_link = True
    ordering = ("-occurred_at",)
    max_num = 0  # the timeline is written by the app, not typed here

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class AssignOwnerForm(forms.Form):
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"), required=False,
        help_text="Leave empty to unassign.",
    )


class SetStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Lead.Status.choices)
    lost_reason = forms.CharField(required=False, max_length=300, help_text="Required when the status is Lost.")


def _intermediate(modeladmin, request, queryset, *, form, title: str, action: str):
    return TemplateResponse(
        request,
        "admin/leads/bulk_action.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "queryset": queryset,
            "count": queryset.count(),
            "action": action,
            "opts": modeladmin.model._meta,
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
        },
    )


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("__str__", "email", "company", "status", "score", "grade", "owner", "team", "source", "created_at")
    list_filter = ("status", "source", "grade", "team", "owner", ("created_at", admin.DateFieldListFilter))
    search_fields = ("first_name", "last_name", "email", "company", "phone", "external_id")
    list_select_related = ("owner", "team")
    readonly_fields = ("score", "probability", "processed_at", "created_at", "updated_at", "last_activity_at")
    autocomplete_fields = ("owner", "team")  # a search box, not a <select> of every user
    inlines = [InteractionInline]
    actions = ["assign_owner", "change_status", "enrich_now"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    paginator = FastCountPaginator
    show_full_result_count = False  # a full COUNT(*) per page does not scale to a million leads
    date_hierarchy = None
    fieldsets = (
        ("Person", {"fields": ("first_name", "last_name", "email", "phone", "job_title")}),
        ("Company", {"fields": ("company", "website", "industry", "company_size")}),
        ("Location", {"fields": ("country", "region", "city", "postal_code", "time_zone")}),
        ("Source", {"fields": ("source", "source_detail", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "external_id")}),
        ("Lifecycle", {"fields": ("status", "status_locked", "lost_reason", "owner", "team", "score", "grade", "grade_locked", "probability")}),
        ("Consent and data", {"fields": ("email_opt_in", "do_not_contact", "attributes")}),
        ("Dates", {"fields": ("first_contacted_at", "last_activity_at", "processed_at", "created_at", "updated_at")}),
    )

    def get_search_results(self, request, queryset, search_term):
        """The trigram-indexed substring search of the lead list, not five unindexed ILIKEs."""
        from .filters import substring_search

        if not search_term.strip():
            return queryset, False
        matches = substring_search(queryset, "search", search_term)
        external = queryset.filter(external_id=search_term.strip())
        return matches | external, False

    def save_model(self, request, obj, form, change):
        """Edits go through lead_update, so the timeline audits who changed what."""
        if not change:
            return super().save_model(request, obj, form, change)
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        lead_update(lead=obj, data=data, by=request.user)

    @admin.action(description="Enrich now", permissions=["change"])
    def enrich_now(self, request: HttpRequest, queryset: QuerySet[Lead]):
        """Queue enrichment of the selected leads, in batches of 500."""

        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), 500):
            jobs.enqueue("leads.tasks.enrich_leads_task", ids[start : start + 500])
        self.message_user(request, f"Enrichment queued for {len(ids)} lead(s).", messages.SUCCESS)

    @admin.action(description="Assign an owner", permissions=["change"])
    def assign_owner(self, request: HttpRequest, queryset: QuerySet[Lead]):
        """Ask for the owner, then give every selected lead to them."""
        if "apply" in request.POST:
            form = AssignOwnerForm(request.POST)
            if form.is_valid():
                changed = lead_bulk_assign(leads=queryset, owner=form.cleaned_data["owner"], by=request.user)
                self.message_user(request, f"{changed} lead(s) reassigned.", messages.SUCCESS)
                return None
        else:
            form = AssignOwnerForm()
        return _intermediate(self, request, queryset, form=form, title="Assign an owner", action="assign_owner")

    @admin.action(description="Change the status", permissions=["change"])
    def change_status(self, request: HttpRequest, queryset: QuerySet[Lead]):
        """Ask for the status (and lost reason), then apply it to every selected lead."""
        if "apply" in request.POST:
            form = SetStatusForm(request.POST)
            if form.is_valid():
                try:
                    changed = lead_bulk_set_status(
                        leads=queryset, status=form.cleaned_data["status"],
                        lost_reason=form.cleaned_data["lost_reason"], by=request.user,
                    )
                except ValidationError as exc:
                    for field, errors in exc.message_dict.items():
                        form.add_error(field, errors)
                else:
                    self.message_user(request, f"{changed} lead(s) updated.", messages.SUCCESS)
                    return None
        else:
            form = SetStatusForm()
        return _intermediate(self, request, queryset, form=form, title="Change the status", action="change_status")


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    autocomplete_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "manager")
    search_fields = ("name",)
    inlines = [TeamMembershipInline]


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "kind", "lead", "actor", "channel", "subject")
    list_filter = ("kind",)
    list_select_related = ("lead", "actor")
    raw_id_fields = ("lead", "actor")
    paginator = FastCountPaginator
    show_full_result_count = False


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
    prepopulated_fields = {"key": ("name",)}
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="Embed")
    def embed_snippet(self, obj: WebForm) -> str:
        """The iframe and plain-HTML snippets to paste into a site."""
        if not obj.pk:
            return "Save the form to get its embed code."
        from django.utils.html import format_html

        from .capture.webforms import embed_snippets

        iframe, plain = embed_snippets(obj)
        return format_html(
            "<p>As an iframe:</p><pre>{}</pre><p>As a plain HTML form:</p><pre>{}</pre>", iframe, plain
        )


@admin.register(PossibleDuplicate)
class PossibleDuplicateAdmin(admin.ModelAdmin):
    list_display = ("detected_at", "lead", "other", "reason", "status", "merge_link")
    list_filter = ("status", "reason")
    list_select_related = ("lead", "other")
    raw_id_fields = ("lead", "other", "resolved_by")

    @admin.display(description="Merge")
    def merge_link(self, obj: PossibleDuplicate) -> str:
        from django.urls import reverse
        from django.utils.html import format_html

        if obj.status != PossibleDuplicate.Status.OPEN:
            return "—"
        return format_html('<a href="{}">Compare and merge</a>', reverse("leads:duplicate_merge", args=[obj.pk]))


# --- Webhook sources (chat, ads, webinars) and website tracking ------------------------------
from django.conf import settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils.html import format_html  # noqa: E402

from .capture.tracking import tracking_snippet  # noqa: E402
from .capture.webhooks import (  # noqa: E402
    TAGS_NOT_LIST, webhook_curl_example, webhook_mapping_validate, webhook_secret_regenerate,
)
from .models import PageView, TrackingSite, Visitor, WebhookEvent, WebhookSource  # noqa: E402

HOSTS_NOT_LIST = 'A list of host names, for example ["www.example.com"].'


class WebhookSourceForm(forms.ModelForm):
    class Meta:
        model = WebhookSource
        fields = ("name", "channel", "key", "is_active", "team", "default_tags", "mapping", "event_id_path", "transcript_path")

    def clean_mapping(self) -> dict:
        try:
            return webhook_mapping_validate(mapping=self.cleaned_data.get("mapping") or {})
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def clean_default_tags(self) -> list:
        tags = self.cleaned_data.get("default_tags") or []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise ValidationError(TAGS_NOT_LIST)
        return [tag.strip() for tag in tags if tag.strip()]


@admin.register(WebhookSource)
class WebhookSourceAdmin(admin.ModelAdmin):
    """Tools that post leads to /api/v1/capture/webhook/<key>: mapping, endpoint and how to sign."""

    form = WebhookSourceForm
    list_display = ("name", "channel", "key", "is_active", "team", "created_at")
    list_filter = ("channel", "is_active")
    search_fields = ("name", "key")
    list_select_related = ("team",)
    readonly_fields = ("endpoint", "secret", "signing", "created_at")
    actions = ["regenerate_secret"]
    fieldsets = (
        (None, {"fields": ("name", "channel", "key", "is_active", "team", "default_tags")}),
        ("Mapping", {"fields": ("mapping", "event_id_path", "transcript_path")}),
        ("Endpoint and signing", {"fields": ("endpoint", "secret", "signing", "created_at")}),
    )

    @staticmethod
    def _url(obj: WebhookSource) -> str:
        return settings.PUBLIC_BASE_URL + reverse("api:capture-webhook", args=[obj.key])

    @admin.display(description="Endpoint URL")
    def endpoint(self, obj: WebhookSource) -> str:
        """Where the tool posts: the absolute URL under PUBLIC_BASE_URL."""
        if not obj.pk:
            return "Save the source to get its endpoint."
        return format_html("<code>POST {}</code>", self._url(obj))

    @admin.display(description="How to sign")
    def signing(self, obj: WebhookSource) -> str:
        """The signature header and a curl example that signs a body with this secret."""
        if not obj.pk:
            return "—"
        return format_html(
            "<p>Send the JSON body with the header <code>X-LeadCRM-Signature: sha256=&lt;hex&gt;</code>, "
            "the HMAC-SHA256 of the exact raw body keyed with the secret above.</p><pre>{}</pre>",
            webhook_curl_example(source=obj, url=self._url(obj)),
        )

    @admin.action(description="Regenerate the signing secret", permissions=["change"])
    def regenerate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookSource]):
        """Give each selected source a new secret; the old one stops working at once."""
        count = 0
        for source in queryset:
            webhook_secret_regenerate(source=source)
            count += 1
        self.message_user(
            request, f"New secret for {count} source(s). Update the sending tools: the old secret no longer works.",
            messages.SUCCESS,
        )


@admin.register(WebhookEvent)
class WebhookEventAdmin(LogAdmin):
    """Event ids already taken (replays of these are ignored)."""

    list_display = ("received_at", "source", "event_id", "capture")
    list_filter = ("source",)
    search_fields = ("event_id",)
    list_select_related = ("source", "capture")
    raw_id_fields = ("capture",)


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
from .models import InboundEmail, Mailbox  # noqa: E402

PASSWORD_KEPT = "Leave empty to keep the current password."
PASSWORD_REQUIRED = "Enter the mailbox password."


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
    actions = ["poll_now"]

    @admin.display(description="Last poll")
    def poll_status(self, obj: Mailbox) -> str:
        """OK, or the start of the last error."""
        if not obj.last_polled_at:
            return "never polled"
        return f"error: {obj.last_error[:80]}" if obj.last_error else "OK"

    @admin.action(description="Poll now", permissions=["change"])
    def poll_now(self, request: HttpRequest, queryset: QuerySet[Mailbox]):
        """Poll the selected mailboxes at once instead of waiting for beat."""
        from .capture.imap import mailbox_poll

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
    readonly_fields = ("message_id", "mailbox", "received_at", "from_address", "subject", "kind", "lead", "capture_link", "error")
    exclude = ("capture",)
    paginator = FastCountPaginator
    show_full_result_count = False

    @admin.display(description="Raw message")
    def capture_link(self, obj: InboundEmail) -> str:
        if not obj.capture_id:
            return "—"
        return format_html(
            '<a href="{}">Capture record #{}</a>', reverse("admin:leads_capturerecord_change", args=[obj.capture_id]), obj.capture_id
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- Import jobs: upload a CSV/XLSX file; it runs in the background (docs/import.md) ----------

from .capture.importing import (  # noqa: E402
    ImportFileError, import_allowed, import_check_name, import_inspect, import_job_start, import_too_large_message,
    import_upload_limit,
)
from .models import ImportJob  # noqa: E402


class ImportJobUploadForm(forms.ModelForm):
    class Meta:
        model = ImportJob
        fields = ("file", "source_detail", "id_column", "dry_run")
        help_texts = {
            "file": "A .csv or .xlsx file whose first row names the columns.",
            "source_detail": "Source detail for every row (otherwise the file's Lead Source column, or the file name).",
        }

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
        "created_at", "original_name", "status", "dry_run", "progress", "created_count", "updated_count",
        "rejected_count", "created_by",
    )
    list_filter = ("status", "dry_run")
    search_fields = ("original_name", "source_detail")
    list_select_related = ("created_by",)
    upload_fields = ("file", "source_detail", "id_column", "dry_run")
    report_fields = (
        "original_name", "job_page", "status", "progress", "dry_run", "source_detail", "id_column", "total_rows",
        "processed_rows", "created_count", "updated_count", "rejected_count", "message", "rejected_rows",
        "columns", "created_by", "created_at", "started_at", "finished_at",
    )

    def get_fields(self, request, obj=None):
        """An upload form to add a job; a read-only report once it exists."""
        return self.upload_fields if obj is None else self.report_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.report_fields

    def has_module_permission(self, request) -> bool:
        return import_allowed(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return import_allowed(request.user)

    def has_add_permission(self, request) -> bool:
        return import_allowed(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a job is a record of what happened

    def save_model(self, request, obj: ImportJob, form, change: bool) -> None:
        """Store the file and enqueue the import (it runs after the commit)."""
        if not change:
            import_job_start(job=obj, by=request.user)

    def response_add(self, request, obj: ImportJob, post_url_continue=None):
        """Go to the job page with its progress bar."""
        from django.http import HttpResponseRedirect

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
        from django.utils.html import format_html_join

        if not obj.errors:
            return "—"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", ((e.get("line"), e.get("reason")) for e in obj.errors))
        return format_html("<table><tr><th>Line</th><th>Reason</th></tr>{}</table>", rows)

    @admin.display(description="Columns")
    def columns(self, obj: ImportJob) -> str:
        from django.utils.html import format_html_join

        return format_html_join(", ", "{} → {}", sorted(obj.column_map.items())) or "—"


class RescoreOnChangeMixin:
    """Rule and settings changes rescore every open lead in the background (ScoreJob)."""

    def _rescore(self, request, reason: str) -> None:
        from django.urls import reverse
        from django.utils.html import format_html

        from .scoring.service import rescore_all_start

        job = rescore_all_start(by=request.user, reason=reason)
        self.message_user(
            request,
            format_html('Rescoring every open lead in the background: <a href="{}">follow its progress</a>.',
                        reverse("leads:score_job", args=[job.pk])),
            messages.INFO,
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._rescore(request, f"{obj} saved")

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._rescore(request, f"{obj} deleted")


@admin.register(ScoringRule)
class ScoringRuleAdmin(RescoreOnChangeMixin, admin.ModelAdmin):
    list_display = ("name", "group", "field", "operator", "value", "event", "url_pattern", "points", "cap", "is_active")
    list_filter = ("group", "is_active", "event")
    list_editable = ("points", "cap", "is_active")
    search_fields = ("name",)



@admin.register(ScoringConfig)
class ScoringConfigAdmin(RescoreOnChangeMixin, admin.ModelAdmin):
    list_display = ("__str__", "fit_cap", "engagement_cap", "decay", "probability_weight", "mql_threshold", "updated_at")

    def has_add_permission(self, request) -> bool:
        return not ScoringConfig.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ScoreJob)
class ScoreJobAdmin(admin.ModelAdmin):
    list_display = ("created_at", "reason", "status", "processed", "total", "logged", "qualified", "finished_at")
    list_filter = ("status",)
    readonly_fields = (
        "created_at", "created_by", "reason", "status", "total", "processed", "chunks", "chunks_done", "logged", "qualified",
        "started_at", "finished_at", "message",
    )
    exclude = ("ranges_done",)

    def has_add_permission(self, request) -> bool:
        return False


# --- The learned scoring model (leads/scoring/predictive.py): read-only, with "Train now" -----
from django.core.exceptions import PermissionDenied  # noqa: E402
from django.http import HttpResponseNotAllowed, HttpResponseRedirect  # noqa: E402

from .models import ScoringModel  # noqa: E402

TRAIN_QUEUED = "Training queued: the new model appears here in a minute or two, then every open lead is rescored."


@admin.register(ScoringModel)
class ScoringModelAdmin(admin.ModelAdmin):
    """Each training of the predictive model with its held-out figures and features. A record
    of what was learned, so nobody edits it; "Train now" queues a training."""

    change_list_template = "admin/leads/scoringmodel/change_list.html"
    list_display = ("trained_at", "status", "closed", "won", "lost", "auc_shown", "feature_count", "duration_seconds")
    list_filter = ("status",)
    fields = (
        "trained_at", "status", "message", "closed", "won", "lost", "auc_shown", "duration_seconds", "intercept_shown",
        "calibration_table", "features_table",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def can_train(self, request: HttpRequest) -> bool:
        """Training changes every score, so it takes the right to change the scoring settings."""
        return request.user.has_perm("leads.change_scoringconfig")

    def get_urls(self):
        from django.urls import path

        train = path("train/", self.admin_site.admin_view(self.train_view), name="leads_scoringmodel_train")
        return [train, *super().get_urls()]

    def train_view(self, request: HttpRequest):
        """POST: queue a training (then a rescore of every open lead) instead of waiting for the night."""

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.can_train(request):
            raise PermissionDenied
        jobs.enqueue("leads.tasks.train_scoring_task")
        self.message_user(request, TRAIN_QUEUED, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:leads_scoringmodel_changelist"))

    def changelist_view(self, request, extra_context=None):
        from .scoring.predictive import MIN_CLOSED, model_current

        current = model_current()
        context = {
            "current_model": current, "current_auc": self.auc_shown(current) if current else "",
            "can_train": self.can_train(request), "min_closed": MIN_CLOSED, **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    @admin.display(description="Closed leads", ordering="n_closed")
    def closed(self, obj: ScoringModel) -> int:
        return obj.n_closed

    @admin.display(description="Won", ordering="n_won")
    def won(self, obj: ScoringModel) -> int:
        return obj.n_won

    @admin.display(description="Lost", ordering="n_lost")
    def lost(self, obj: ScoringModel) -> int:
        return obj.n_lost

    @admin.display(description="AUC (held-out)", ordering="auc")
    def auc_shown(self, obj: ScoringModel) -> str:
        return "—" if obj.auc is None else f"{obj.auc:.3f}"

    @admin.display(description="Intercept (log-odds of a lead with none of the features)")
    def intercept_shown(self, obj: ScoringModel) -> str:
        return f"{obj.intercept:+.3f}"

    @admin.display(description="Features")
    def feature_count(self, obj: ScoringModel) -> int:
        return len(obj.features or [])

    @admin.display(description="Calibration (held-out leads)")
    def calibration_table(self, obj: ScoringModel) -> str:
        """Per bin of predicted probability: what the model said and what happened."""
        from django.utils.html import format_html_join

        if not obj.calibration:
            return "—"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((row["bin"], f"{row['predicted']:.1%}", f"{row['observed']:.1%}", row["count"]) for row in obj.calibration),
        )
        return format_html(
            "<table><tr><th>Predicted</th><th>Mean predicted</th><th>Observed won rate</th><th>Leads</th></tr>{}</table>", rows
        )

    @admin.display(description="Features and weights (log-odds)")
    def features_table(self, obj: ScoringModel) -> str:
        """The chosen features, strongest first: a positive weight raises the probability."""
        from django.utils.html import format_html_join

        if not obj.features:
            return "—"
        features = sorted(obj.features, key=lambda feature: -feature["weight"])
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((f["label"], f"{f['weight']:+.2f}", f"{f.get('share', 0):.1%}") for f in features),
        )
        return format_html("<table><tr><th>Feature</th><th>Weight</th><th>Share of closed leads</th></tr>{}</table>", rows)


# --- Distribution: agents, team routing, territories, assignments, calls (docs/distribution.md) --
from .distribution.availability import time_zone_validate, working_hours_parse  # noqa: E402
from .distribution.territories import territory_rules_validate  # noqa: E402
from .models import Agent, Assignment, Call, Notification, TeamSettings, Territory  # noqa: E402
from .normalize import INVALID_PHONE, normalize_phone  # noqa: E402

PHONE_NUMBERS_NOT_LIST = 'Phone numbers are a list of E.164 numbers, e.g. ["+442079460000"].'
ASSIGN_QUEUED = "Assignment queued for {count} unassigned lead(s); {owned} already owned or closed left as they are."


def _e164_list(value) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(PHONE_NUMBERS_NOT_LIST)
    try:
        return [normalize_phone(item) for item in value if item.strip()]
    except ValueError as exc:
        raise ValidationError(INVALID_PHONE) from exc


class TeamSettingsForm(forms.ModelForm):
    class Meta:
        model = TeamSettings
        fields = ("sla_minutes", "require_working_hours", "max_reassignments", "keep_returning_owner", "phone_numbers")

    def clean_phone_numbers(self) -> list[str]:
        return _e164_list(self.cleaned_data.get("phone_numbers"))


class TeamSettingsInline(admin.StackedInline):
    """Routing of the team: first-contact SLA, working hours, escalation, returning leads, phone numbers."""

    model = TeamSettings
    form = TeamSettingsForm
    can_delete = False
    max_num = 1
    verbose_name = verbose_name_plural = "Routing"


TeamAdmin.inlines = [*TeamAdmin.inlines, TeamSettingsInline]


class AgentForm(forms.ModelForm):
    class Meta:
        model = Agent
        fields = (
            "user", "is_active", "max_open_leads", "max_new_per_day", "out_of_office_from", "out_of_office_until",
            "time_zone", "working_hours", "phone", "languages", "skills",
        )

    def clean_time_zone(self) -> str:
        try:
            return time_zone_validate(self.cleaned_data.get("time_zone") or "UTC")
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def clean_working_hours(self) -> dict:
        hours = self.cleaned_data.get("working_hours") or {}
        try:
            working_hours_parse(hours)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        return hours

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data.get("phone") or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    """Sales reps' routing profiles: capacity, out of office, working hours (in their zone), phone."""

    form = AgentForm
    list_display = ("user", "is_active", "max_open_leads", "max_new_per_day", "out_of_office_from", "out_of_office_until", "time_zone", "phone")
    list_editable = ("is_active",)
    list_filter = ("is_active",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "phone")
    autocomplete_fields = ("user",)
    list_select_related = ("user",)

    def save_model(self, request, obj, form, change):
        """Someone may have become available: drain the queues now rather than at the next minute."""

        super().save_model(request, obj, form, change)
        jobs.enqueue("leads.tasks.drain_queues_task")


class TerritoryForm(forms.ModelForm):
    class Meta:
        model = Territory
        fields = ("name", "priority", "is_catch_all", "is_active", "rules", "teams")

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["rules"] = territory_rules_validate(
                rules=cleaned.get("rules"), is_catch_all=bool(cleaned.get("is_catch_all"))
            )
        except ValueError as exc:
            self.add_error("rules", str(exc))
        return cleaned


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    """Where leads go: the first active territory by priority whose rules all match; the catch-all last."""

    form = TerritoryForm
    list_display = ("name", "priority", "is_catch_all", "is_active", "team_names", "rules")
    list_editable = ("priority", "is_active")
    list_filter = ("is_active", "is_catch_all")
    search_fields = ("name",)
    filter_horizontal = ("teams",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("teams")

    @admin.display(description="Teams")
    def team_names(self, obj: Territory) -> str:
        return ", ".join(team.name for team in obj.teams.all()) or "—"


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: nobody adds or edits it by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    """Every placing of a lead, with its reason: the assignment and reassignment log."""

    list_display = ("assigned_at", "lead", "agent", "team", "territory", "reason", "sla_due_at", "first_contact_at", "detail")
    list_filter = ("reason", "team", ("assigned_at", admin.DateFieldListFilter))
    search_fields = ("agent__username", "detail")
    list_select_related = ("lead", "agent", "team", "territory")
    raw_id_fields = ("lead",)
    autocomplete_fields = ("agent", "team")
    paginator = FastCountPaginator
    show_full_result_count = False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "from_number", "to_number", "route", "agent", "team", "lead", "duration_seconds", "outcome")
    list_filter = ("route", "team", "outcome")
    search_fields = ("call_id", "from_number", "to_number")
    list_select_related = ("agent", "team", "lead")
    raw_id_fields = ("lead", "agent")
    paginator = FastCountPaginator
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "kind", "message", "read_at")
    list_filter = ("kind",)
    search_fields = ("user__username", "message")
    list_select_related = ("user",)
    raw_id_fields = ("user", "lead")
    paginator = FastCountPaginator
    show_full_result_count = False


@admin.action(description="Assign now (territory → team → round robin)", permissions=["change"])
def assign_now(modeladmin, request: HttpRequest, queryset: QuerySet[Lead]):
    """Queue assignment of the selected unassigned open leads, in batches of 500."""
    from .distribution.availability import OPEN_STATUSES

    ids = list(queryset.filter(owner__isnull=True, status__in=OPEN_STATUSES).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), 500):
        jobs.enqueue("leads.tasks.assign_leads_task", ids[start : start + 500])
    modeladmin.message_user(request, ASSIGN_QUEUED.format(count=len(ids), owned=queryset.count() - len(ids)), messages.SUCCESS)


LeadAdmin.actions = [*LeadAdmin.actions, assign_now]
from .nurturing import admin_segments  # noqa: E402,F401  (segments, list members, snapshots)
from . import admin_workspace  # noqa: E402,F401  (tasks, saved views, preferences)
from .nurturing import admin_sequences  # noqa: E402,F401  (sequences, steps, enrollments, step runs, suppressions)
