from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from leads.admin import LeadAdmin
from leads.common.pagination import FastCountPaginator

from .models import Customer
from .services import leads_bulk_convert


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "company", "email", "domain", "country", "owner", "created_at")
    list_filter = ("owner", "country", ("created_at", admin.DateFieldListFilter))
    search_fields = ("name", "company", "email", "phone", "domain")
    list_select_related = ("owner",)
    raw_id_fields = ("lead", "converted_by")
    autocomplete_fields = ("owner",)
    paginator = FastCountPaginator
    show_full_result_count = False


@admin.action(description="Convert into customers (link a single clear match, else create)", permissions=["change"])
def convert_to_customers(modeladmin, request, queryset):
    """Convert the selected leads; leads matching several customers are left for a person to choose."""

    try:
        result = leads_bulk_convert(leads=queryset, by=request.user)
    except ValidationError as exc:
        modeladmin.message_user(request, " ".join(exc.messages), messages.ERROR)
        return
    modeladmin.message_user(
        request,
        f"{result.created} customer(s) created, {result.linked} lead(s) linked, {result.already} already converted.",
        messages.SUCCESS,
    )
    if result.needs_choice:
        modeladmin.message_user(
            request,
            f"{len(result.needs_choice)} lead(s) match several customers; convert them from their page: "
            + ", ".join(map(str, result.needs_choice[:20])),
            messages.WARNING,
        )
    if result.refused:
        modeladmin.message_user(
            request, f"{len(result.refused)} lead(s) refused (lost, or not yours).", messages.WARNING
        )


def _add_lead_action() -> None:
    """The Lead admin (leads/admin/core.py) gets the conversion action from here, beside its own."""
    if convert_to_customers not in LeadAdmin.actions:
        LeadAdmin.actions = [*LeadAdmin.actions, convert_to_customers]


_add_lead_action()
