"""Admin for sequences, their steps, enrollments, step runs and the suppression list (the app's own
pages are at /nurture/sequences/). Step runs are read-only: they are the record of what was sent."""
from django.contrib import admin, messages

from ..models.nurturing import EmailSuppression, Enrollment, Sequence, SequenceStep, StepRun
from ..pagination import FastCountPaginator
from .sequences import lead_enrollments_exit


class SequenceStepInline(admin.StackedInline):
    model = SequenceStep
    fk_name = "sequence"
    extra = 0
    ordering = ("position", "id")
    raw_id_fields = ("branch_target",)


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "entry_segment", "allow_reenroll", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "description")
    raw_id_fields = ("created_by",)
    inlines = [SequenceStepInline]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ("lead", "sequence", "status", "step", "next_run_at", "source", "exit_reason", "enrolled_at")
    list_filter = ("status", "source", "exit_reason", "sequence")
    raw_id_fields = ("lead", "step", "enrolled_by")
    list_select_related = ("lead", "sequence", "step")
    paginator = FastCountPaginator
    show_full_result_count = False
    actions = ["remove"]

    @admin.action(description="Remove from their sequences (manual exit)", permissions=["change"])
    def remove(self, request, queryset):
        """Take the selected leads out of the selected enrollments' sequences."""
        done = 0
        for lead_id, sequence_id in queryset.filter(status=Enrollment.Status.ACTIVE).values_list("lead_id", "sequence_id"):
            done += lead_enrollments_exit(
                lead_id=lead_id, reason=Enrollment.ExitReason.MANUAL, sequence=Sequence(pk=sequence_id), by=request.user
            )
        messages.success(request, f"{done} enrollment(s) ended.")


@admin.register(StepRun)
class StepRunAdmin(admin.ModelAdmin):
    list_display = ("step", "lead", "status", "to_email", "subject", "claimed_at", "opened_at", "clicked_at")
    list_filter = ("status",)
    search_fields = ("to_email", "message_id")
    list_select_related = ("step", "lead")
    paginator = FastCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EmailSuppression)
class EmailSuppressionAdmin(admin.ModelAdmin):
    list_display = ("email", "reason", "lead", "created_at")
    list_filter = ("reason",)
    search_fields = ("email",)
    raw_id_fields = ("lead",)
