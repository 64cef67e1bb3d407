"""Django admin for managers: leads with their timeline, teams, bulk assign and status."""
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from .models import CaptureRecord, Interaction, Lead, PossibleDuplicate, Team, TeamMembership, WebForm
from .pagination import FastCountPaginator
from .services import lead_bulk_assign, lead_bulk_set_status


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
    list_display = ("__str__", "email", "company", "status", "score", "grade", "owner", "source", "created_at")
    list_filter = ("status", "source", "owner", "grade", "team", ("created_at", admin.DateFieldListFilter))
    search_fields = ("first_name", "last_name", "email", "company", "phone", "external_id")
    list_select_related = ("owner",)
    readonly_fields = ("score", "grade", "probability", "processed_at", "created_at", "updated_at", "last_activity_at")
    autocomplete_fields = ()
    inlines = [InteractionInline]
    actions = ["assign_owner", "change_status"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    paginator = FastCountPaginator
    show_full_result_count = False  # a full COUNT(*) per page does not scale to a million leads
    date_hierarchy = None
    fieldsets = (
        ("Person", {"fields": ("first_name", "last_name", "email", "phone", "job_title")}),
        ("Company", {"fields": ("company", "website", "industry", "company_size")}),
        ("Location", {"fields": ("country", "region", "city", "postal_code", "time_zone")}),
        ("Source", {"fields": ("source", "source_detail", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "external_id")}),
        ("Lifecycle", {"fields": ("status", "lost_reason", "owner", "team", "score", "grade", "probability")}),
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
class CaptureRecordAdmin(admin.ModelAdmin):
    """The request log: every input of every channel, accepted or not, with the reason."""

    list_display = ("received_at", "channel", "source_detail", "result", "reason", "lead", "ip")
    list_filter = ("channel", "result", "web_form", ("received_at", admin.DateFieldListFilter))
    search_fields = ("source_detail", "reason", "ip")
    list_select_related = ("lead",)
    raw_id_fields = ("lead", "web_form")
    paginator = FastCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


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
