"""The processing pipeline every captured lead runs through, stage by stage.

enrichment → possible duplicates → scoring → assignment → nurturing: each stage is one callable
in STAGES, takes the lead id and must be safe to run twice. Stages keep their own transactions
short (a network enrichment provider must not hold a row lock while it waits on a website).

`leads_process` runs the same stages set-based for a batch of leads: the outbox sweep hands it
the single-lead jobs that piled up (a broker outage), a few hundred leads per task.
"""

from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from . import locks
from .capture.duplicates import duplicates_detect, duplicates_detect_many
from .capture.importing.mapping import import_routing_held, import_routing_held_many
from .distribution.service import lead_assign, leads_assign
from .enrichment.service import leads_enrich
from .models import Lead
from .nurturing.sequences import lead_enroll_by_rules, leads_enroll_by_rules
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


def _unprocessed(lead_ids: list[int], enqueued_at: dict[int, datetime] | None, *, lock: bool = False) -> list[int]:
    """The leads (in id order) whose job is still owed: not processed since it was enqueued
    (without enqueue times, not processed at all)."""
    leads = Lead.objects.filter(pk__in=lead_ids).only("pk", "processed_at")
    rows = locks.leads_lock(leads) if lock else leads.order_by("pk")
    return [
        lead.pk
        for lead in rows
        if lead.processed_at is None
        or (enqueued_at is not None and lead.processed_at < enqueued_at.get(lead.pk, lead.processed_at))
    ]


def leads_process(*, lead_ids: list[int], enqueued_at: dict[int, datetime] | None = None) -> int:
    """Run every stage for a batch of leads, set-based, and stamp processed_at; returns how many
    were processed. A lead processed since its job was enqueued is skipped, so a repeated batch
    (a worker killed mid-batch, a stray single job) does nothing twice."""
    started = timezone.now()
    ids = _unprocessed(lead_ids, enqueued_at)
    if not ids:
        return 0
    # Outside the batch's transaction, both safe to repeat: enrichment (a network provider must not
    # hold row locks while it waits; it refreshes only what it owns and writes timeline entries only
    # for changes) and possible duplicates (an upsert; its rows reference other batches' leads, and
    # their key-share locks inside two batches' transactions could wait on each other).
    leads_enrich(lead_ids=ids)
    duplicates_detect_many(
        leads=list(Lead.objects.filter(pk__in=ids).only("pk", "email", "phone", "first_name", "last_name"))
    )
    with transaction.atomic():
        # The claim: the batch's leads locked (id order), then checked again, before any side effect.
        ids = _unprocessed(ids, enqueued_at, lock=True)
        if not ids:
            return 0
        leads_rescore(lead_ids=ids)
        held = import_routing_held_many(lead_ids=ids)
        # The assignment emails' job is enqueued in this transaction, with the assignments.
        leads_assign(lead_ids=[pk for pk in ids if pk not in held])
        leads_enroll_by_rules(lead_ids=ids)
        Lead.objects.filter(pk__in=ids, updated_at__lte=started).update(processed_at=timezone.now())
    return len(ids)
