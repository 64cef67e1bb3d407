"""The processing pipeline every captured lead runs through, stage by stage.

enrichment → possible duplicates → scoring → assignment → nurturing: each stage is one callable
in STAGES, takes the lead id and must be safe to run twice. Stages keep their own transactions
short (a network enrichment provider must not hold a row lock while it waits on a website).
"""
from collections.abc import Callable

from django.utils import timezone

from .capture.duplicates import duplicates_detect
from .capture.importing.mapping import import_routing_held
from .distribution.service import lead_assign
from .enrichment.service import leads_enrich
from .models import Lead
from .nurturing.sequences import lead_enroll_by_rules
from .scoring.service import leads_rescore

Stage = Callable[[int], object]


def _duplicates(lead_id: int) -> None:
    # Off the capture's request path: near matches (same phone, +tag, name and company domain)
    # are recorded here, after commit and enrichment (which may have split a name), for new and
    # merged leads alike.

    lead = Lead.objects.filter(pk=lead_id).only("pk", "email", "phone", "first_name", "last_name").first()
    if lead is not None:
        duplicates_detect(lead=lead)


def _enrich(lead_id: int) -> None:
    leads_enrich(lead_ids=[lead_id])


def _score(lead_id: int) -> None:
    leads_rescore(lead_ids=[lead_id])


def _assign(lead_id: int) -> None:
    # A trade-show list imported with routing off starts no SLA clocks; the lead is routed when it
    # next comes in by itself (a later capture is then its latest).
    if import_routing_held(lead_id=lead_id):
        return
    lead_assign(lead_id=lead_id)


def _nurture(lead_id: int) -> None:
    lead_enroll_by_rules(lead_id=lead_id)


STAGES: list[Stage] = [_enrich, _duplicates, _score, _assign, _nurture]


def lead_process(*, lead_id: int, duplicates_checked: bool = False) -> bool:
    """Run every stage for one lead and stamp processed_at; False if the lead is gone. A lead whose
    capture already checked it for possible duplicates (capture_many's batch) skips that stage."""
    if not Lead.objects.filter(pk=lead_id).exists():
        return False
    started = timezone.now()
    for stage in STAGES:
        if duplicates_checked and stage is _duplicates:
            continue
        stage(lead_id)
    # A capture that merged new data while we ran set processed_at to NULL after `started`
    # (and enqueued another run): leave it NULL rather than claim that data was processed.
    Lead.objects.filter(pk=lead_id, updated_at__lte=started).update(processed_at=timezone.now())
    return True
