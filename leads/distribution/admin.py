"""Admin for distribution (docs/distribution.md): agents, team routing (an inline of the Team admin), territories, and the
assignment, call and notification logs; "Assign now" is an action of the Lead admin."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from .. import jobs
from ..common.normalize import INVALID_PHONE, normalize_phone
from ..common.pagination import FastCountPaginator
from ..models import Agent, Assignment, Call, Lead, Notification, TeamSettings, Territory
from .availability import OPEN_STATUSES, time_zone_validate, working_hours_parse
from .territories import territory_rules_validate

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


class AgentForm(forms.ModelForm):
    class Meta:
        model = Agent
        fields = (
            "user",
            "is_active",
            "max_open_leads",
            "max_new_per_day",
            "out_of_office_from",
            "out_of_office_until",
            "time_zone",
            "working_hours",
            "phone",
            "languages",
            "skills",
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
    list_display = (
        "user",
        "is_active",
        "max_open_leads",
        "max_new_per_day",
        "out_of_office_from",
        "out_of_office_until",
        "time_zone",
        "phone",
    )
    list_editable = ("is_active",)
    list_filter = ("is_active",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "phone")
    autocomplete_fields = ("user",)
    list_select_related = ("user",)

    def save_model(self, request, obj, form, change):
        """Someone may have become available: drain the queues now rather than at the next minute."""
        super().save_model(request, obj, form, change)
        jobs.enqueue("leads.distribution.tasks.drain_queues_task")


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

    list_display = (
        "assigned_at",
        "lead",
        "agent",
        "team",
        "territory",
        "reason",
        "sla_due_at",
        "first_contact_at",
        "detail",
    )
    list_filter = ("reason", "team", ("assigned_at", admin.DateFieldListFilter))
    search_fields = ("agent__username", "detail")
    list_select_related = ("lead", "agent", "team", "territory")
    raw_id_fields = ("lead",)
    autocomplete_fields = ("agent", "team")
    paginator = FastCountPaginator
    show_full_result_count = False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "from_number",
        "to_number",
        "route",
        "agent",
        "team",
        "lead",
        "duration_seconds",
        "outcome",
    )
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
    ids = list(
        queryset.filter(owner__isnull=True, status__in=OPEN_STATUSES).order_by("pk").values_list("pk", flat=True)
    )
    for start in range(0, len(ids), 500):
        jobs.enqueue("leads.distribution.tasks.assign_leads_task", ids[start : start + 500])
    modeladmin.message_user(
        request, ASSIGN_QUEUED.format(count=len(ids), owned=queryset.count() - len(ids)), messages.SUCCESS
    )
