"""Admin for segments, list members and size snapshots (the app's own pages are at /nurture/segments/)."""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from ..models import Segment, SegmentMember, SegmentSnapshot
from ..pagination import FastCountPaginator
from .segments import segment_definition_clean, segment_refresh


class SegmentAdminForm(forms.ModelForm):
    """A definition typed here is cleaned like the builder's; an invalid one is refused with its messages."""

    class Meta:
        model = Segment
        fields = "__all__"

    def clean(self):
        data = super().clean()
        if data.get("kind") == Segment.Kind.DYNAMIC:
            try:
                data["definition"] = segment_definition_clean(definition=data.get("definition"), segment=self.instance)
            except ValidationError as exc:
                self.add_error("definition", [f"{path}: {message}" for path, found in exc.message_dict.items() for message in found])
        return data


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentAdminForm
    list_display = ("name", "kind", "size", "evaluated_at", "refresh_on_schedule", "created_by")
    list_filter = ("kind", "refresh_on_schedule")
    search_fields = ("name", "description")
    readonly_fields = ("size", "evaluated_at", "created_at", "updated_at")
    raw_id_fields = ("created_by",)
    actions = ["refresh_now"]

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
