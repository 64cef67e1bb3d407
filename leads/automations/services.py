"""Automation services: save, enable/disable, start (events, manual, the inactivity scan), resume, dry run."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import jobs
from ..common.bulk import statistics_refresh
from ..models import Automation, AutomationRun, Lead
from ..nurturing.segments import segment_definition_clean
from .batch import runs_execute_batch
from .definition import actions_clean, trigger_params_clean
from .reactions import BATCH, automations_enqueue, automations_forget
from .runs import DISABLED, run_execute, run_plan, runs_due, runs_start

NAME_REQUIRED = "Give the automation a name."
NAME_TAKEN = "Another automation has this name."
NOT_ENABLED = "Enable the automation first."
SCAN_BATCH = 1000


def automation_save(*, automation: Automation, data: dict[str, Any], by: User | None) -> Automation:
    """Validate and save an automation (name, description, enabled, trigger, parameters, conditions,
    actions); ValidationError keyed by field or JSON path."""
    errors: dict[str, list[str]] = {}
    name = str(data.get("name") or "").strip()[:120]
    if not name:
        errors["name"] = [NAME_REQUIRED]
    elif Automation.objects.filter(name=name).exclude(pk=automation.pk).exists():
        errors["name"] = [NAME_TAKEN]
    cleaned: dict[str, Any] = {}
    for key, clean in (
        (
            "trigger_params",
            lambda: trigger_params_clean(trigger=data.get("trigger"), params=data.get("trigger_params")),
        ),
        ("conditions", lambda: segment_definition_clean(definition=data.get("conditions") or {})),
        ("actions", lambda: actions_clean(actions=data.get("actions"))),
    ):
        try:
            cleaned[key] = clean()
        except ValidationError as exc:
            for path, messages in exc.message_dict.items():
                errors.setdefault(path if key != "conditions" else f"conditions.{path}".rstrip("."), []).extend(
                    messages
                )
    if errors:
        raise ValidationError(errors)
    automation.name, automation.description = name, str(data.get("description") or "")
    automation.trigger, automation.enabled = data["trigger"], bool(data.get("enabled"))
    automation.trigger_params, automation.conditions, automation.actions = (
        cleaned["trigger_params"],
        cleaned["conditions"],
        cleaned["actions"],
    )
    if automation.pk is None:
        automation.created_by = by
    with transaction.atomic():
        automation.save()
        if not automation.enabled:
            _runs_cancel(automation)
    automations_forget()
    return automation


def _runs_cancel(automation: Automation) -> int:
    """Disabling stops pending runs and waits (set-based)."""
    return AutomationRun.objects.filter(
        automation=automation, status__in=[AutomationRun.Status.PENDING, AutomationRun.Status.WAITING]
    ).update(
        status=AutomationRun.Status.CANCELLED,
        error=DISABLED,
        resume_at=None,
        finished_at=timezone.now(),
    )


@transaction.atomic
def automation_set_enabled(*, automation: Automation, enabled: bool, by: User | None) -> int:
    """Enable or disable an automation; disabling cancels its pending runs and waits (returns how many)."""
    Automation.objects.filter(pk=automation.pk).update(enabled=enabled, updated_at=timezone.now())
    automation.enabled = enabled
    cancelled = 0 if enabled else _runs_cancel(automation)
    transaction.on_commit(automations_forget)
    return cancelled


def automations_start(
    *,
    automation_ids: list[int],
    lead_ids: list[int],
    trigger_event: str,
    trigger_key: str,
    depth: int,
) -> int:
    """Start each automation's runs for a batch of triggered leads and run them; returns how many ran."""
    now = timezone.now()
    statistics_refresh(Lead, AutomationRun)  # before the transaction: the batch's COMMIT checks its rows against these
    with transaction.atomic():
        # Every automation's runs, then their set-based execution, in one transaction (one commit
        # per task, not one per statement: commits are what a busy disk makes slow).
        run_ids: list[int] = []
        for automation_id in automation_ids:
            run_ids += runs_start(
                automation_id=automation_id,
                lead_ids=lead_ids,
                trigger_event=trigger_event,
                trigger_key=trigger_key,
                depth=depth,
                now=now,
            )
        finished, released = runs_execute_batch(run_ids=run_ids, now=now)
    # Steps the batch cannot do run one by one, each in its own transaction, after that commit.
    return finished + sum(1 for run_id in released if run_execute(run_id=run_id, now=now) is not None)


def automation_run_manual(*, automation: Automation, leads: QuerySet[Lead], by: User | None) -> int:
    """Run an enabled automation on chosen leads (pass a visible_to(user) queryset), off the request."""
    if not automation.enabled:
        raise ValidationError({"automation": [NOT_ENABLED]})
    return automations_enqueue(
        automation_ids=[automation.pk],
        lead_ids=leads.order_by("pk").values_list("pk", flat=True),
        trigger_event="manual",
        depth=1,
    )


def automations_resume_due(*, now: datetime | None = None) -> int:
    """Send the due runs (waits, retries, lost tasks) to workers, BATCH per task."""
    ids = runs_due(now=now)
    for start in range(0, len(ids), BATCH):
        jobs.enqueue("leads.automations.tasks.automation_runs_task", ids[start : start + BATCH])
    return len(ids)


def automations_scan_inactive(*, now: datetime | None = None) -> int:
    """For each enabled "inactive for N days" automation, start runs for the leads whose last activity
    (or creation) is older than N days and that this automation has not run on since: set-based, in
    id batches; returns how many runs started."""
    now = now or timezone.now()
    started = 0
    for automation in Automation.objects.filter(enabled=True, trigger=Automation.Trigger.INACTIVE):
        cutoff = now - timedelta(days=automation.trigger_params.get("days") or 14)
        quiet = (
            Lead.objects.annotate(quiet_since=Coalesce("last_activity_at", "created_at"))
            .filter(quiet_since__lt=cutoff)
            .exclude(
                Exists(
                    AutomationRun.objects.filter(
                        automation=automation,
                        lead=OuterRef("pk"),
                        created_at__gte=OuterRef("quiet_since"),
                    )
                )
            )
        )
        after = 0
        while True:
            rows = list(quiet.filter(pk__gt=after).order_by("pk").values_list("pk", "quiet_since")[:SCAN_BATCH])
            if not rows:
                break
            after = rows[-1][0]
            keys = {pk: f"inactive:{since:%Y%m%d%H%M%S}" for pk, since in rows}
            run_ids = runs_start(
                automation_id=automation.pk,
                lead_ids=keys,
                trigger_event="inactive",
                trigger_key="",
                keys=keys,
                now=now,
            )
            for start in range(0, len(run_ids), BATCH):
                jobs.enqueue("leads.automations.tasks.automation_runs_task", run_ids[start : start + BATCH])
            started += len(run_ids)
    return started


def automations_scan_dates(*, now: datetime | None = None) -> int:
    """For each enabled "date reached" automation, start runs for the leads whose date (plus or
    minus N days) was reached since the automation was made and that it has not run on for this
    date: set-based, in id batches; returns how many runs started."""
    now = now or timezone.now()
    started = 0
    for automation in Automation.objects.filter(enabled=True, trigger=Automation.Trigger.DATE_REACHED):
        params = automation.trigger_params
        field = params["field"]
        offset = timedelta(days=params.get("days") or 0) * (1 if params.get("when") == "after" else -1)
        # reached = date + offset, in (automation made, now]: ranges on the date field's own index.
        reached = Lead.objects.filter(
            **{f"{field}__lte": now - offset, f"{field}__gt": automation.created_at - offset}
        ).exclude(
            Exists(
                AutomationRun.objects.filter(
                    automation=automation, lead=OuterRef("pk"), created_at__gte=OuterRef(field) + offset
                )
            )
        )
        after = 0
        while True:
            rows = list(reached.filter(pk__gt=after).order_by("pk").values_list("pk", field)[:SCAN_BATCH])
            if not rows:
                break
            after = rows[-1][0]
            keys = {pk: f"date:{field}:{value:%Y%m%d%H%M%S}" for pk, value in rows}
            run_ids = runs_start(
                automation_id=automation.pk,
                lead_ids=keys,
                trigger_event="date_reached",
                trigger_key="",
                keys=keys,
                now=now,
            )
            for start in range(0, len(run_ids), BATCH):
                jobs.enqueue("leads.automations.tasks.automation_runs_task", run_ids[start : start + BATCH])
            started += len(run_ids)
    return started


def automation_dry_run(*, automation: Automation, lead: Lead) -> list[str]:
    """What the automation would do to one lead now (test mode): nothing is written."""
    return run_plan(automation=automation, lead=lead)


def automation_runs(*, automation: Automation, limit: int = 100) -> list[AutomationRun]:
    """An automation's latest runs with their steps (for its page)."""
    return list(
        AutomationRun.objects.filter(automation=automation)
        .select_related("lead")
        .prefetch_related("steps")
        .order_by("-created_at", "-id")[:limit]
    )
