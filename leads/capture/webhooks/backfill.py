"""Meta Lead Ads backfill: a lead whose webhook never arrived (or whose Graph read failed) is found
by listing each known form's leads since the last run, and captured like a webhook's, idempotent by
leadgen id (the same WebhookEvent claim), so running it twice or alongside the webhook changes
nothing."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from ...models import Lead, WebhookSource
from ..service import CaptureContext
from .base import Item, id_text
from .meta_graph import GraphRefused, GraphUnavailable, meta_form_leads, meta_lead_flatten
from .receive import webhook_capture_item
from .registry import provider_for

logger = logging.getLogger(__name__)

# Leads created a little before the last run are listed again: clocks differ, and a lead being
# written while the last run listed its form must not fall between two runs.
OVERLAP = timedelta(minutes=10)
# A first run (or one after a long pause) looks back this far; Meta keeps leads for 90 days.
FIRST_LOOKBACK = timedelta(days=7)
MAX_LOOKBACK = timedelta(days=90)


@dataclass
class BackfillResult:
    listed: int = 0
    captured: int = 0
    failed_forms: int = 0


def meta_backfill(*, source: WebhookSource, now=None) -> BackfillResult:
    """List the source's forms' leads since its last run and capture those not taken yet."""
    now = now or timezone.now()
    since = (source.synced_at - OVERLAP) if source.synced_at else now - FIRST_LOOKBACK
    since = max(since, now - MAX_LOOKBACK)
    provider, result = provider_for(source), BackfillResult()
    for form_id in [form for form in source.form_ids or [] if id_text(form).isdigit()]:
        try:
            leads = meta_form_leads(
                access_token=source.access_token, form_id=id_text(form_id), since=int(since.timestamp())
            )
        except (GraphUnavailable, GraphRefused) as exc:
            logger.warning("meta backfill: form %s of source %s: %s", form_id, source.pk, exc)
            result.failed_forms += 1
            continue
        for lead in leads:
            leadgen_id = id_text(lead.get("id"))
            if not leadgen_id.isdigit():
                continue
            result.listed += 1
            payload = meta_lead_flatten(lead=lead, change={"form_id": id_text(form_id)})
            context = CaptureContext(
                channel=Lead.Source.WEBHOOK,
                source_detail=source.name,
                payload=payload,
                user_agent="LeadCRM Meta backfill",
            )
            outcome = webhook_capture_item(
                source=source,
                provider=provider,
                item=Item(payload=payload, event_id=leadgen_id),
                context=context,
            )
            result.captured += int(not outcome.duplicate)
    if not result.failed_forms:
        # Only a complete run moves the mark: a form that failed is listed from the old mark next time.
        source.synced_at = now
        WebhookSource.objects.filter(pk=source.pk).update(synced_at=now)
    return result


def meta_backfill_all(*, now=None) -> int:
    """Backfill every active Meta Lead Ads source; the number of leads captured."""
    captured = 0
    for source in WebhookSource.objects.filter(provider=WebhookSource.Provider.META, is_active=True).exclude(
        access_token=""
    ):
        captured += meta_backfill(source=source, now=now).captured
    return captured
