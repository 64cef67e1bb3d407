"""Django admin for managers: leads with their timeline, teams, bulk assign and status."""

from typing import ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from ..common.pagination import FastCountPaginator
from ..distribution.admin import TeamSettingsInline, assign_now
from ..enrichment.admin import enrich_now
from ..filters import substring_search
from ..models import Interaction, Lead, Team, TeamMembership
from ..services import lead_bulk_assign, lead_bulk_set_status, lead_update


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
        queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False,
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
    inlines = (InteractionInline,)
    actions = ("assign_owner", "change_status", enrich_now, assign_now)
    formfield_overrides: ClassVar[dict] = {models.URLField: {"assume_scheme": "https"}}
    paginator = FastCountPaginator
    show_full_result_count = False  # a full COUNT(*) per page does not scale to a million leads
    date_hierarchy = None
    fieldsets = (
        ("Person", {"fields": ("first_name", "last_name", "email", "phone", "job_title")}),
        ("Company", {"fields": ("company", "website", "industry", "company_size")}),
        ("Location", {"fields": ("country", "region", "city", "postal_code", "time_zone")}),
        (
            "Source",
            {
                "fields": (
                    "source",
                    "source_detail",
                    "utm_source",
                    "utm_medium",
                    "utm_campaign",
                    "utm_term",
                    "utm_content",
                    "external_id",
                )
            },
        ),
        (
            "Lifecycle",
            {
                "fields": (
                    "status",
                    "status_locked",
                    "lost_reason",
                    "owner",
                    "team",
                    "score",
                    "grade",
                    "grade_locked",
                    "probability",
                )
            },
        ),
        ("Consent and data", {"fields": ("email_opt_in", "do_not_contact", "attributes")}),
        ("Dates", {"fields": ("first_contacted_at", "last_activity_at", "processed_at", "created_at", "updated_at")}),
    )

    def get_search_results(self, request, queryset, search_term):
        """The trigram-indexed substring search of the lead list, not five unindexed ILIKEs."""
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
                        leads=queryset,
                        status=form.cleaned_data["status"],
                        lost_reason=form.cleaned_data["lost_reason"],
                        by=request.user,
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
    inlines = (TeamMembershipInline, TeamSettingsInline)


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "kind", "lead", "actor", "channel", "subject")
    list_filter = ("kind",)
    list_select_related = ("lead", "actor")
    raw_id_fields = ("lead", "actor")
    paginator = FastCountPaginator
    show_full_result_count = False
