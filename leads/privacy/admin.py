"""Admin: the log of privacy requests (exports and erasures), read-only; it holds no personal data."""

from django.contrib import admin

from ..models import PrivacyRequest


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(admin.ModelAdmin):
    list_display = ("done_at", "action", "actor", "via", "subject_digest_short")
    list_filter = ("action", "via")
    date_hierarchy = "done_at"
    list_select_related = ("actor",)
    readonly_fields = ("action", "subject_digest", "tombstone", "actor", "via", "done_at", "counts")

    @admin.display(description="Subject (keyed hash)")
    def subject_digest_short(self, obj: PrivacyRequest) -> str:
        return obj.subject_digest[:16]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
