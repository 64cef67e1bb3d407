"""Enrichment's tasks: thin, by id, safe to repeat. Enqueue them by name with leads.jobs.enqueue."""

from celery import shared_task
from kombu.exceptions import OperationalError

from .service import leads_enrich


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def enrich_leads_task(lead_ids: list[int]) -> int:
    """Enrich a batch of leads (on demand: the lead page, admin, enrich_leads)."""
    return leads_enrich(lead_ids=lead_ids).changed
