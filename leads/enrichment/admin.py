"""Admin for enrichment: the "Enrich now" action of the Lead admin (enrichment has no admin pages of its own)."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .. import jobs
from ..models import Lead


@admin.action(description="Enrich now", permissions=["change"])
def enrich_now(modeladmin, request: HttpRequest, queryset: QuerySet[Lead]):
    """Queue enrichment of the selected leads, in batches of 500."""
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), 500):
        jobs.enqueue("leads.enrichment.tasks.enrich_leads_task", ids[start : start + 500])
    modeladmin.message_user(request, f"Enrichment queued for {len(ids)} lead(s).", messages.SUCCESS)
