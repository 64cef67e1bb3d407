"""The processing pipeline every captured lead runs through, stage by stage.

Later stages (enrichment, scoring, distribution, nurturing) each add one callable
to STAGES. A stage takes the lead and must be safe to run twice.
"""
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from .models import Lead

Stage = Callable[[Lead], None]
STAGES: list[Stage] = []


def lead_process(*, lead_id: int) -> bool:
    """Run every stage for one lead and stamp processed_at; False if the lead is gone."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
        if lead is None:
            return False
        for stage in STAGES:
            stage(lead)
        Lead.objects.filter(pk=lead_id).update(processed_at=timezone.now())
    return True
