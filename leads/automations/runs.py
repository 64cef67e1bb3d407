"""Running automations: runs created set-based for the triggered leads, then their steps one by one.

- A run per (automation, lead, trigger occurrence) is one INSERT for a whole batch; a repeated task
  inserts nothing (the unique `automation_run_once`) and finds its runs done.
- A run is claimed by one UPDATE (pending/waiting/lease expired → running, with a lease), then each
  action claims its RunStep row in the transaction that does the side effect.
- Waits and retries park the run (`waiting`, `resume_at`); the beat task resumes due runs.
- The loop guard: a run started by an event that another run caused is one level deeper; a run
  deeper than MAX_DEPTH is recorded as stopped and does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import events
from ..common.bulk import objects_insert
from ..models import Automation, AutomationRun, Lead, RunStep
from ..nurturing.segments import segment_compile
from .actions import ActionSkipped, Context, action_apply, action_describe, wait_end

logger = logging.getLogger(__name__)

Status = AutomationRun.Status
Outcome = RunStep.Outcome

# An automation whose action triggers an automation (itself or another) starts a run one level
# deeper; past this depth the run is stopped, and its log and the lead's timeline say so.
MAX_DEPTH = 5
MAX_ATTEMPTS = 3  # a failing step is tried this often, with backoff, then the run stops failed
LEASE = timedelta(minutes=10)  # a running run whose worker died is resumed after this
LOOP_GUARD = "Loop guard: depth {depth} is over the limit of {limit} (an automation re-triggered itself)."
STEP_FAILED = "Step {position} ({action}) failed, attempt {attempt} of {attempts}: {error}"
DISABLED = "The automation was disabled."

_depth: ContextVar[int] = ContextVar("automation_depth", default=0)


def current_depth() -> int:
    """The depth of the run whose action is publishing an event right now (0 outside runs)."""
    return _depth.get()


def retry_after(attempt: int) -> timedelta:
    """Backoff before a failed step's next attempt: base × 4^(attempt-1)."""
    return timedelta(seconds=settings.AUTOMATION_RETRY_SECONDS * 4 ** (attempt - 1))


def trigger_q(automation: Automation) -> Q:
    """The trigger's lead-side parameters as a filter (a new lead's source)."""
    if automation.trigger == Automation.Trigger.LEAD_CREATED and automation.trigger_params.get("source"):
        return Q(source=automation.trigger_params["source"])
    return Q()


def lead_matches(*, automation: Automation, lead_ids: Iterable[int], now: datetime | None = None) -> list[int]:
    """The leads among `lead_ids` that pass the trigger's filter and the conditions (one query)."""
    condition = segment_compile(definition=automation.conditions or {}, now=now)
    return list(
        Lead.objects.filter(pk__in=list(lead_ids))
        .filter(trigger_q(automation))
        .filter(condition)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def runs_start(
    *,
    automation_id: int,
    lead_ids: Iterable[int],
    trigger_event: str,
    trigger_key: str,
    depth: int = 1,
    keys: dict[int, str] | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Create the runs of one enabled automation for the triggered leads that match (one INSERT);
    returns the new pending runs' ids. `keys` gives a lead its own trigger key (the inactivity scan)."""
    now = now or timezone.now()
    automation = Automation.objects.filter(pk=automation_id, enabled=True).first()
    if automation is None:
        return []
    lead_ids = list(lead_ids)
    if depth > MAX_DEPTH:
        _runs_stop(
            automation=automation,
            lead_ids=lead_ids,
            trigger_event=trigger_event,
            trigger_key=trigger_key,
            depth=depth,
            now=now,
        )
        return []
    matched = lead_matches(automation=automation, lead_ids=lead_ids, now=now)
    if not matched:
        return []
    keys = keys or {}
    objects_insert(
        objects=[
            AutomationRun(
                automation_id=automation.pk,
                lead_id=pk,
                trigger_event=trigger_event,
                trigger_key=keys.get(pk, trigger_key),
                depth=depth,
                created_at=now,
            )
            for pk in matched
        ],
        ignore_conflicts=True,  # a repeated task: its runs exist (automation_run_once)
    )
    created = AutomationRun.objects.filter(automation=automation, lead_id__in=matched, status=Status.PENDING)
    if keys:
        created = created.filter(trigger_key__in=set(keys.values()))
    else:
        created = created.filter(trigger_key=trigger_key)
    return list(created.order_by("pk").values_list("pk", flat=True))


def _runs_stop(*, automation, lead_ids, trigger_event, trigger_key, depth, now) -> None:
    """The loop guard: record the runs it refused, and say so on the leads' timelines."""
    error = LOOP_GUARD.format(depth=depth, limit=MAX_DEPTH)
    AutomationRun.objects.bulk_create(
        [
            AutomationRun(
                automation=automation,
                lead_id=pk,
                trigger_event=trigger_event,
                trigger_key=trigger_key,
                depth=depth,
                status=Status.STOPPED,
                error=error,
                created_at=now,
                started_at=now,
                finished_at=now,
            )
            for pk in lead_ids
        ],
        ignore_conflicts=True,
    )
    logger.warning("automation %s: %s (leads %s)", automation.pk, error, lead_ids[:10])
    stopped = AutomationRun.objects.filter(
        automation=automation,
        lead_id__in=lead_ids,
        trigger_key=trigger_key,
        status=Status.STOPPED,
        created_at=now,
    ).select_related("lead")
    for run in stopped:
        events.automation_ran(
            lead=run.lead,
            automation_id=automation.pk,
            automation_name=automation.name,
            run_id=run.pk,
            status=Status.STOPPED,
            steps=[],
            error=error,
            occurred_at=now,
        )


def _claim(run_id: int, now: datetime) -> bool:
    """Take a run: pending, waiting and due, or running with an expired lease (a dead worker)."""
    return bool(
        AutomationRun.objects.filter(pk=run_id, status__in=AutomationRun.OPEN)
        .filter(Q(resume_at__isnull=True) | Q(resume_at__lte=now))
        .update(status=Status.RUNNING, started_at=Coalesce("started_at", now), resume_at=now + LEASE)
    )


def _finish(
    run: AutomationRun, *, status: str, now: datetime, steps: list[str], error: str = "", resume_at=None
) -> None:
    run.status, run.error, run.resume_at = status, error, resume_at
    run.finished_at = None if status in AutomationRun.OPEN else now
    run.save(update_fields=["status", "error", "resume_at", "finished_at", "position"])
    events.automation_ran(
        lead=run.lead,
        automation_id=run.automation_id,
        automation_name=run.automation.name,
        run_id=run.pk,
        status=status,
        steps=steps,
        error=error,
        occurred_at=now,
    )


def _step(run: AutomationRun, position: int, action: dict, ctx: Context) -> RunStep:
    """Claim the step's row and do its side effect in one transaction; a step done already is left alone."""
    with transaction.atomic():
        step, _ = RunStep.objects.get_or_create(run_id=run.pk, position=position, defaults={"action": action["type"]})
        step = RunStep.objects.select_for_update().get(pk=step.pk)
        if step.outcome in (Outcome.DONE, Outcome.SKIPPED):
            return step  # a repeated task: the side effect happened once already
        step.attempts += 1
        try:
            with transaction.atomic():  # a failing action leaves no half-written change behind
                step.detail, step.outcome, step.error = (
                    action_apply(action=action, lead=run.lead, ctx=ctx)[:300],
                    Outcome.DONE,
                    "",
                )
        except ActionSkipped as exc:
            step.detail, step.outcome = str(exc)[:300], Outcome.SKIPPED
        except (ValidationError, DatabaseError, ObjectDoesNotExist, ValueError) as exc:
            step.outcome, step.error = Outcome.FAILED, f"{type(exc).__name__}: {exc}"
        step.finished_at = ctx.now
        step.save()
    return step


def _branch_holds(action: dict, lead_id: int, now: datetime) -> bool:
    return Lead.objects.filter(pk=lead_id).filter(segment_compile(definition=action["conditions"], now=now)).exists()


def _control_step(run: AutomationRun, position: int, action: dict, detail: str, now: datetime) -> None:
    """Record a wait or branch step (no side effect outside the run itself)."""
    RunStep.objects.update_or_create(
        run_id=run.pk,
        position=position,
        defaults={
            "action": action["type"],
            "outcome": Outcome.DONE,
            "detail": detail[:300],
            "attempts": 1,
            "finished_at": now,
        },
    )


def run_execute(*, run_id: int, now: datetime | None = None) -> str | None:
    """Run a run's remaining steps (to the end, a wait, or a failure) in one transaction; its new
    status, or None when another worker has it or it is not due."""
    with transaction.atomic():
        # One commit per run, not one per write (the bench: several times the throughput); the
        # claim's row lock makes a second worker wait and then find the run no longer open.
        return _execute(run_id=run_id, now=now or timezone.now())


def _execute(*, run_id: int, now: datetime) -> str | None:
    if not _claim(run_id, now):
        return None
    run = AutomationRun.objects.select_related("automation", "lead", "lead__owner").get(pk=run_id)
    automation = run.automation
    if not automation.enabled:
        _finish(run, status=Status.CANCELLED, now=now, steps=[], error=DISABLED)
        return run.status
    ctx = Context(automation_name=automation.name, now=now, by_id=automation.created_by_id)
    actions, position = automation.actions, run.position
    # Steps the set-based path did a moment ago (same `now`) before it handed the run over: they
    # belong in this run's timeline summary too.
    done = (
        [
            step.detail if step.outcome == Outcome.DONE else f"skipped: {step.detail}"
            for step in RunStep.objects.filter(run_id=run.pk, position__lt=position, finished_at=now)
            .exclude(action__in=("wait", "wait_until", "branch"))
            .order_by("position")
        ]
        if position
        else []
    )
    token = _depth.set(run.depth)
    try:
        while position < len(actions):
            action = actions[position]
            run.position = position
            if action["type"] in ("wait", "wait_until"):
                until = wait_end(action=action, time_zone=run.lead.time_zone, now=now)
                _control_step(run, position, action, f"waited until {until:%Y-%m-%d %H:%M}", now)
                run.position = position + 1
                _finish(
                    run,
                    status=Status.WAITING,
                    now=now,
                    steps=[*done, f"waiting until {until:%Y-%m-%d %H:%M}"],
                    resume_at=until,
                )
                return run.status
            if action["type"] == "branch":
                holds = _branch_holds(action, run.lead_id, now)
                _control_step(
                    run,
                    position,
                    action,
                    "condition held" if holds else f"condition did not hold: skipped {action['skip']}",
                    now,
                )
                position += 1 if holds else 1 + action["skip"]
                continue
            step = _step(run, position, action, ctx)
            if step.outcome == Outcome.FAILED:
                error = STEP_FAILED.format(
                    position=position + 1,
                    action=action["type"],
                    attempt=step.attempts,
                    attempts=MAX_ATTEMPTS,
                    error=step.error,
                )
                if step.attempts < MAX_ATTEMPTS:
                    _finish(
                        run,
                        status=Status.WAITING,
                        now=now,
                        steps=done,
                        error=error,
                        resume_at=now + retry_after(step.attempts),
                    )
                else:
                    _finish(run, status=Status.FAILED, now=now, steps=done, error=error)
                return run.status
            done.append(step.detail if step.outcome == Outcome.DONE else f"skipped: {step.detail}")
            position += 1
        run.position = position
        _finish(run, status=Status.DONE, now=now, steps=done)
        return run.status
    finally:
        _depth.reset(token)


def runs_due(*, now: datetime | None = None, limit: int = 5000) -> list[int]:
    """Runs to resume: waits and retries that are due, leases that expired, pending runs whose task was lost."""
    now = now or timezone.now()
    stale = now - LEASE
    return list(
        AutomationRun.objects.filter(
            Q(status__in=[Status.WAITING, Status.RUNNING], resume_at__lte=now)
            | Q(status=Status.PENDING, created_at__lt=stale)
        )
        .filter(automation__enabled=True)
        .order_by("resume_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def run_plan(*, automation: Automation, lead: Lead, now: datetime | None = None) -> list[str]:
    """The dry run: what the automation would do to this lead now, step by step, changing nothing."""
    now = now or timezone.now()
    if not lead_matches(automation=automation, lead_ids=[lead.pk], now=now):
        return ["The lead does not match the trigger's filter or the conditions: the automation would not run."]
    report, position = ["The lead matches the conditions."], 0
    while position < len(automation.actions):
        action = automation.actions[position]
        if action["type"] == "branch":
            holds = _branch_holds(action, lead.pk, now)
            report.append(
                f"{position + 1}. branch: the condition {'holds' if holds else 'does not hold'}"
                + ("" if holds else f": skip the next {action['skip']} step(s)")
            )
            position += 1 if holds else 1 + action["skip"]
            continue
        report.append(f"{position + 1}. would {action_describe(action=action)}")
        position += 1
    return report
