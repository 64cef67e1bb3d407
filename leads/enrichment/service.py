"""Enrichment: run the providers over a batch of leads and apply what they suggest.

Rules (provenance lives in EnrichmentValue):
- a suggestion fills a blank field, or refreshes a value enrichment itself set earlier;
- a value a person entered (or a form captured) is never overwritten: a different suggestion is
  kept as "suggested" for a manager to accept (a pure change of letter case is not a conflict);
- values below MIN_CONFIDENCE are not applied.
All writes are set-based: one bulk update of the leads, one upsert of the provenance rows and
one bulk insert of timeline entries per batch.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from .. import events
from ..common.bulk import objects_update
from ..models import CaptureRecord, EnrichmentValue, Lead
from ..services import lead_update
from .providers.base import LeadFacts, Provider, ProviderUnavailable, Suggestion
from .registry import providers_active

logger = logging.getLogger(__name__)

MIN_CONFIDENCE = 0.5
LEAD_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "website",
    "country",
    "region",
    "city",
    "postal_code",
    "time_zone",
    "industry",
    "company_size",
    "email_kind",
    "email_is_role",
    "phone_line_type",
    "seniority",
    "department",
)
SETTABLE = frozenset(LEAD_FIELDS) - {"email", "job_title"}


@dataclass
class EnrichReport:
    leads: int = 0
    changed: int = 0
    fields_applied: int = 0
    suggestions: int = 0
    errors: list[str] = field(default_factory=list)


def _read(lead: Lead, name: str) -> Any:
    if name.startswith("attributes."):
        return lead.attributes.get(name.split(".", 1)[1], "")
    value = getattr(lead, name)
    return str(value or "") if name == "country" else value


def _write(lead: Lead, name: str, value: Any) -> None:
    if name.startswith("attributes."):
        lead.attributes = {**lead.attributes, name.split(".", 1)[1]: value}
    else:
        setattr(lead, name, value)


def _blank(value: Any) -> bool:
    return value in (None, "") or value is False


def _case_only(current: Any, value: Any) -> bool:
    return isinstance(current, str) and isinstance(value, str) and current != value and current.lower() == value.lower()


def _settable(name: str) -> bool:
    return name in SETTABLE or name.startswith("attributes.")


def leads_enrich(
    *, lead_ids: list[int], providers: list[Provider] | None = None, by: User | None = None
) -> EnrichReport:
    """Enrich a batch of leads: fill blanks from the providers, record provenance, never
    overwrite what a person entered. Safe to run again: it refreshes only what it owns."""
    providers = providers if providers is not None else providers_active()
    report = EnrichReport()
    last_ip = (
        CaptureRecord.objects.filter(lead=OuterRef("pk"), ip__isnull=False).order_by("-received_at").values("ip")[:1]
    )
    # Only the columns providers read: a full Lead row costs more to build than to enrich.
    leads = list(
        Lead.objects.filter(pk__in=lead_ids)
        .only("id", "attributes", "enriched_at", *LEAD_FIELDS)
        .annotate(last_ip=Subquery(last_ip))
    )
    known: dict[tuple[int, str, str], EnrichmentValue] = {
        (ev.lead_id, ev.field, ev.provider): ev for ev in EnrichmentValue.objects.filter(lead_id__in=lead_ids)
    }
    # (lead, field) → (value, confidence, provider) of the value enrichment set and still owns.
    owned: dict[tuple[int, str], tuple[Any, float, str]] = {}
    by_id = {lead.pk: lead for lead in leads}
    for ev in known.values():
        lead = by_id.get(ev.lead_id)
        if lead is not None and ev.status == EnrichmentValue.Status.APPLIED and ev.value == _read(lead, ev.field):
            best = owned.get((ev.lead_id, ev.field))
            if best is None or ev.confidence > best[1]:
                owned[(ev.lead_id, ev.field)] = (ev.value, ev.confidence, ev.provider)
    now = timezone.now()
    provenance: list[EnrichmentValue] = []
    timeline: list[tuple[int, dict]] = []
    changed_leads: list[Lead] = []
    changed_fields: set[str] = set()
    for lead in leads:
        report.leads += 1
        facts = LeadFacts(values={name: _read(lead, name) for name in LEAD_FIELDS}, ip=lead.last_ip)
        changes: dict[str, dict[str, Any]] = {}
        for provider in providers:
            if not provider.applicable(facts):
                continue
            try:
                suggestions: list[Suggestion] = provider.suggest(facts)
            except ProviderUnavailable as exc:
                logger.warning("enrichment provider %s unavailable for lead %s: %s", provider.name, lead.pk, exc)
                report.errors.append(f"{provider.name}: {exc}")
                continue
            for suggestion in suggestions:
                name, value = suggestion.field, suggestion.value
                if not _settable(name) or suggestion.confidence < MIN_CONFIDENCE:
                    continue
                current = _read(lead, name)
                previous = known.get((lead.pk, name, provider.name))
                if previous and previous.status == EnrichmentValue.Status.DISMISSED and previous.value == value:
                    continue  # a manager already said no to exactly this
                holder = owned.get((lead.pk, name))
                ours = holder is not None and holder[0] == current
                # Enrichment may replace its own value only with one at least as sure (or from the same provider).
                may_refresh = ours and (holder[2] == provider.name or suggestion.confidence >= holder[1])
                if current == value:
                    status = EnrichmentValue.Status.APPLIED if (ours or previous) else None
                elif _blank(current) or may_refresh or (not ours and _case_only(current, value)):
                    _write(lead, name, value)
                    facts.values[name] = value
                    owned[(lead.pk, name)] = (value, suggestion.confidence, provider.name)
                    changes[name] = {
                        "from": current,
                        "to": value,
                        "provider": provider.name,
                        "detail": suggestion.detail,
                    }
                    status = EnrichmentValue.Status.APPLIED
                elif ours:
                    status = None  # a less sure provider disagrees with enrichment's own value: keep the better one
                else:
                    status = EnrichmentValue.Status.SUGGESTED
                    report.suggestions += 1
                if status:
                    provenance.append(
                        EnrichmentValue(
                            lead_id=lead.pk,
                            field=name,
                            value=value,
                            provider=provider.name,
                            confidence=suggestion.confidence,
                            detail=suggestion.detail,
                            status=status,
                            updated_at=now,
                        )
                    )
        lead.enriched_at = now
        changed_leads.append(lead)
        if changes:
            report.changed += 1
            report.fields_applied += len(changes)
            changed_fields.update(name.split(".", 1)[0] for name in changes)
            timeline.append((lead.pk, changes))
    # One row per (lead, field, provider): the last word of this run.
    provenance = list({(ev.lead_id, ev.field, ev.provider): ev for ev in provenance}.values())
    with transaction.atomic():
        # One statement per batch for every lead (enriched_at), and the changed columns.
        objects_update(objects=changed_leads, fields=["enriched_at", *sorted(changed_fields)], batch_size=500)
        EnrichmentValue.objects.bulk_create(
            provenance,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["lead", "field", "provider"],
            update_fields=["value", "confidence", "detail", "status", "updated_at"],
        )
        events.leads_enriched(changes=timeline, by=by, occurred_at=now)
    return report


@transaction.atomic
def enrichment_accept(*, suggestion: EnrichmentValue, by: User) -> Lead:
    """A manager takes a suggested value: it replaces the lead's value (audited on the timeline)."""
    lead = Lead.objects.select_for_update().get(pk=suggestion.lead_id)
    if suggestion.field.startswith("attributes."):
        data = {"attributes": {**lead.attributes, suggestion.field.split(".", 1)[1]: suggestion.value}}
    else:
        data = {suggestion.field: suggestion.value}
    lead = lead_update(lead=lead, data=data, by=by)
    EnrichmentValue.objects.filter(pk=suggestion.pk).update(
        status=EnrichmentValue.Status.ACCEPTED, decided_by=by, updated_at=timezone.now()
    )
    return lead


def enrichment_dismiss(*, suggestion: EnrichmentValue, by: User) -> None:
    """A manager refuses a suggested value; the same value is not suggested again."""
    EnrichmentValue.objects.filter(pk=suggestion.pk).update(
        status=EnrichmentValue.Status.DISMISSED, decided_by=by, updated_at=timezone.now()
    )


def enrichment_hints(*, lead: Lead) -> dict[str, EnrichmentValue]:
    """Field → the provenance of its current value, for hints like "from email domain"."""
    hints = {}
    for ev in lead.enrichment_values.filter(
        status__in=[EnrichmentValue.Status.APPLIED, EnrichmentValue.Status.ACCEPTED]
    ):
        if _read(lead, ev.field) == ev.value and (ev.field not in hints or ev.confidence > hints[ev.field].confidence):
            hints[ev.field] = ev
    return hints
