"""Admin for the rep's workspace: tasks, saved list views and per-user preferences."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from ..common.pagination import FastCountPaginator
from ..models import SavedView, Task, UserPreference
from ..workspace.followups import task_complete


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "lead", "assigned_to", "due_at", "done_at", "source", "created_at")
    list_filter = ("source", ("done_at", admin.EmptyFieldListFilter), ("due_at", admin.DateFieldListFilter))
    search_fields = ("title", "assigned_to__username")
    list_select_related = ("lead", "assigned_to")
    autocomplete_fields = ("lead", "assigned_to", "created_by")
    readonly_fields = ("created_at",)
    date_hierarchy = None
    paginator = FastCountPaginator
    show_full_result_count = False
    actions = ("mark_done",)

    @admin.action(description="Mark done", permissions=["change"])
    def mark_done(self, request: HttpRequest, queryset: QuerySet[Task]):
        """Complete the selected open tasks (each leaves a timeline entry)."""
        open_tasks = list(queryset.filter(done_at__isnull=True).select_related("lead")[:500])
        for task in open_tasks:
            task_complete(task=task, by=request.user)
        self.message_user(request, f"{len(open_tasks)} task(s) marked done.", messages.SUCCESS)


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "is_shared", "position", "query", "created_at")
    list_filter = ("is_shared",)
    list_editable = ("position",)
    search_fields = ("name", "user__username", "query")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    actions = ("share", "unshare")

    @admin.action(description="Share with everyone", permissions=["change"])
    def share(self, request: HttpRequest, queryset: QuerySet[SavedView]):
        """Offer the selected views to every user of the lead list."""
        self.message_user(request, f"{queryset.update(is_shared=True)} view(s) shared.", messages.SUCCESS)

    @admin.action(description="Stop sharing", permissions=["change"])
    def unshare(self, request: HttpRequest, queryset: QuerySet[SavedView]):
        """Keep the selected views for their owners only."""
        self.message_user(request, f"{queryset.update(is_shared=False)} view(s) no longer shared.", messages.SUCCESS)


@admin.register(UserPreference)
class UserPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "time_zone", "lead_columns")
    list_filter = ("time_zone",)
    search_fields = ("user__username", "time_zone")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
