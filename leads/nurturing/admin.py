"""Admin for nurturing: segments, list members and size snapshots (the app's own pages are at
/nurture/segments/); sequences, their steps, enrollments, step runs and the suppression list (at
/nurture/sequences/). Step runs are read-only: they are the record of what was sent."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from ..common.pagination import FastCountPaginator
from ..models import Segment, SegmentMember, SegmentSnapshot
from ..models.nurturing import EmailSuppression, Enrollment, Sequence, SequenceStep, StepRun
from .segments.refresh import segment_refresh
from .segments.validation import segment_definition_clean
from .steps import lead_enrollments_exit

# --- Segments and lists --------------------------------------------------------------------------


class SegmentAdminForm(forms.ModelForm):
    """A definition typed here is cleaned like the builder's; an invalid one is refused with its messages."""

    class Meta:
        model = Segment
        fields = "__all__"  # noqa: DJ007  (the admin form edits every field of a segment; clean() checks the definition)

    def clean(self):
        data = super().clean()
        if data.get("kind") == Segment.Kind.DYNAMIC:
            try:
                data["definition"] = segment_definition_clean(definition=data.get("definition"), segment=self.instance)
            except ValidationError as exc:
                self.add_error(
                    "definition",
                    [f"{path}: {message}" for path, found in exc.message_dict.items() for message in found],
                )
        return data


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentAdminForm
    list_display = ("name", "kind", "size", "evaluated_at", "refresh_on_schedule", "created_by")
    list_filter = ("kind", "refresh_on_schedule")
    search_fields = ("name", "description")
    readonly_fields = ("size", "evaluated_at", "created_at", "updated_at")
    raw_id_fields = ("created_by",)
    actions = ("refresh_now",)

    @admin.action(description="Refresh now (dynamic segments)", permissions=["change"])
    def refresh_now(self, request, queryset):
        """Evaluate the selected dynamic segments now; entrants enroll in their sequences."""
        done = 0
        for segment in queryset.filter(kind=Segment.Kind.DYNAMIC):
            try:
                segment_refresh(segment=segment)
            except ValidationError as exc:
                self.message_user(request, f"{segment}: {' '.join(exc.messages)}", messages.ERROR)
                continue
            done += 1
        self.message_user(request, f"{done} segments refreshed.", messages.SUCCESS)


@admin.register(SegmentMember)
class SegmentMemberAdmin(admin.ModelAdmin):
    list_display = ("segment", "lead", "added_at", "added_by")
    list_filter = ("segment",)
    raw_id_fields = ("lead", "added_by")
    list_select_related = ("segment", "lead", "added_by")
    paginator = FastCountPaginator
    show_full_result_count = False


@admin.register(SegmentSnapshot)
class SegmentSnapshotAdmin(admin.ModelAdmin):
    list_display = ("segment", "taken_at", "size")
    list_filter = ("segment",)
    list_select_related = ("segment",)
    date_hierarchy = "taken_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- Sequences ----------------------------------------------------------------------------------


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
    inlines = (SequenceStepInline,)


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ("lead", "sequence", "status", "step", "next_run_at", "source", "exit_reason", "enrolled_at")
    list_filter = ("status", "source", "exit_reason", "sequence")
    raw_id_fields = ("lead", "step", "enrolled_by")
    list_select_related = ("lead", "sequence", "step")
    paginator = FastCountPaginator
    show_full_result_count = False
    actions = ("remove",)

    @admin.action(description="Remove from their sequences (manual exit)", permissions=["change"])
    def remove(self, request, queryset):
        """Take the selected leads out of the selected enrollments' sequences."""
        done = 0
        for lead_id, sequence_id in queryset.filter(status=Enrollment.Status.ACTIVE).values_list(
            "lead_id", "sequence_id"
        ):
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
