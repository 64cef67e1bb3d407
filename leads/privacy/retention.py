"""Retention: what is kept only so long (settings PRIVACY_RETAIN_*_DAYS; 0 keeps it for ever). The
nightly purge is set-based: UPDATE or DELETE over an index, in id-bounded chunks so no statement holds
its locks for long. Leads past their time are removed with their traces, without a tombstone (the
person may come back of their own accord)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..models import (
    Call,
    CaptureRecord,
    InboundEmail,
    Interaction,
    Lead,
    LeadEventSequence,
    PageView,
    Visitor,
    WebhookDelivery,
)

CHUNK = 5_000
LEADS_CHUNK = 500
# The defaults, documented in docs/privacy.md.
DEFAULT_DAYS = {
    "PRIVACY_RETAIN_CAPTURE_PAYLOAD_DAYS": 365,
    "PRIVACY_RETAIN_EMAIL_BODY_DAYS": 730,
    "PRIVACY_RETAIN_TRACKING_DAYS": 395,
    "PRIVACY_RETAIN_LOST_LEADS_DAYS": 1095,
    "PRIVACY_RETAIN_UNCONVERTED_LEADS_DAYS": 0,
}
OPEN_STATUSES = (Lead.Status.NEW, Lead.Status.ACTIVE, Lead.Status.NURTURING)


def _cutoff(name: str, now: datetime) -> datetime | None:
    days = getattr(settings, name, DEFAULT_DAYS[name])
    return now - timedelta(days=days) if days else None


def _update_chunked(queryset: QuerySet, **values) -> int:
    total = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.values_list("pk", flat=True)[:CHUNK])
            if not ids:
                return total
            total += queryset.model.objects.filter(pk__in=ids).update(**values)


def _delete_chunked(queryset: QuerySet) -> int:
    total = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.values_list("pk", flat=True)[:CHUNK])
            if not ids:
                return total
            total += queryset.model.objects.filter(pk__in=ids).delete()[0]


def leads_purge(*, lead_ids: list[int]) -> int:
    """Delete leads with everything about them that does not go with the row (captures, emails,
    visitors, calls, webhook deliveries); set-based, in the caller's transaction."""
    CaptureRecord.objects.filter(lead_id__in=lead_ids).delete()
    InboundEmail.objects.filter(lead_id__in=lead_ids).delete()
    Visitor.objects.filter(lead_id__in=lead_ids).delete()
    Call.objects.filter(lead_id__in=lead_ids).delete()
    WebhookDelivery.objects.filter(lead_id__in=lead_ids).delete()
    LeadEventSequence.objects.filter(lead_id__in=lead_ids).delete()
    return Lead.objects.filter(pk__in=lead_ids).delete()[1].get(Lead._meta.label, 0)


def _leads_purge_chunked(queryset: QuerySet[Lead]) -> int:
    total = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:LEADS_CHUNK])
            if not ids:
                return total
            total += leads_purge(lead_ids=ids)


def retention_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Remove what is older than its retention setting; how many rows of each kind."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    if cutoff := _cutoff("PRIVACY_RETAIN_CAPTURE_PAYLOAD_DAYS", now):
        stale = CaptureRecord.objects.filter(received_at__lt=cutoff).filter(
            ~Q(payload={}) | ~Q(raw="") | Q(ip__isnull=False)
        )
        counts["capture_payloads"] = _update_chunked(stale, payload={}, raw="", ip=None, user_agent="")
    if cutoff := _cutoff("PRIVACY_RETAIN_EMAIL_BODY_DAYS", now):
        bodies = Interaction.objects.filter(kind=Interaction.Kind.EMAIL_IN, occurred_at__lt=cutoff).exclude(body="")
        counts["email_bodies"] = _update_chunked(bodies, body="")
        raw = CaptureRecord.objects.filter(channel=Lead.Source.EMAIL, received_at__lt=cutoff).exclude(raw="")
        counts["email_bodies"] += _update_chunked(raw, raw="")
    if cutoff := _cutoff("PRIVACY_RETAIN_TRACKING_DAYS", now):
        counts["page_views"] = _delete_chunked(PageView.objects.filter(occurred_at__lt=cutoff))
        counts["page_view_entries"] = _delete_chunked(
            Interaction.objects.filter(kind=Interaction.Kind.PAGE_VIEW, occurred_at__lt=cutoff)
        )
        counts["visitors"] = _delete_chunked(Visitor.objects.filter(lead__isnull=True, last_seen_at__lt=cutoff))
    if cutoff := _cutoff("PRIVACY_RETAIN_LOST_LEADS_DAYS", now):
        counts["lost_leads"] = _leads_purge_chunked(Lead.objects.filter(status=Lead.Status.LOST, updated_at__lt=cutoff))
    if cutoff := _cutoff("PRIVACY_RETAIN_UNCONVERTED_LEADS_DAYS", now):
        quiet = Lead.objects.filter(status__in=OPEN_STATUSES, converted_customer__isnull=True, updated_at__lt=cutoff)
        counts["unconverted_leads"] = _leads_purge_chunked(quiet)
    return counts
