"""Admin for automations: a read-mostly view (managers build them at /automations/); runs and steps
are the record of what happened, read-only. Enabling/disabling goes through the service, which
cancels pending waits."""

from django.contrib import admin, messages

from ..models import Automation, AutomationRun, RunStep
from .services import automation_set_enabled


@admin.register(Automation)
class AutomationAdmin(admin.ModelAdmin):
    list_display = ("name", "trigger", "enabled", "updated_at", "created_by")
    list_filter = ("enabled", "trigger")
    search_fields = ("name", "description")
    readonly_fields = ("trigger_params", "conditions", "actions", "created_by", "created_at", "updated_at")
    actions = ("disable",)

    def has_add_permission(self, request) -> bool:
        """Built in the app's form builder, which validates the trigger, conditions and actions."""
        return False

    @admin.action(description="Disable (cancels pending waits)")
    def disable(self, request, queryset):
        """Disable through the service, so pending runs stop too."""
        cancelled = sum(automation_set_enabled(automation=item, enabled=False, by=request.user) for item in queryset)
        self.message_user(request, f"Disabled; {cancelled} pending run(s) cancelled.", messages.SUCCESS)


class RunStepInline(admin.TabularInline):
    model = RunStep
    extra = 0
    can_delete = False
    readonly_fields = ("position", "action", "outcome", "detail", "error", "attempts", "claimed_at", "finished_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AutomationRun)
class AutomationRunAdmin(admin.ModelAdmin):
    list_display = ("created_at", "automation", "lead", "trigger_event", "status", "depth", "finished_at")
    list_filter = ("status", "automation")
    raw_id_fields = ("lead",)
    inlines = (RunStepInline,)
    readonly_fields = (
        "automation",
        "lead",
        "trigger_event",
        "trigger_key",
        "status",
        "depth",
        "position",
        "resume_at",
        "created_at",
        "started_at",
        "finished_at",
        "error",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
