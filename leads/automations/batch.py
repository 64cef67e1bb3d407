"""Running many runs at once, set-based: the bulk path behind runs_execute.

One transaction per batch of runs: the open, due runs are locked (`FOR UPDATE SKIP LOCKED`: a run
another worker holds is its business), grouped by automation and depth, and walked step by step:
the runs standing at the same step of one automation take it together. Waits park them in one
UPDATE, a branch is one query over the condition tree, a batchable action (bulk_actions.py) is a
few set-based statements for all of their leads; the step rows go in one INSERT, the runs'
outcomes in one UPDATE per outcome, the timeline entries in one INSERT with one event.

A step this path cannot do set-based (assign, enroll, email, webhook, convert…), a step that
failed before, or a set-based step that raised, releases its runs at that position; the caller
runs those one by one (runs.run_execute), with the per-step claims and retries of that path.
Idempotency holds the same way: step rows and side effects commit together or not at all, and a
run whose step row at its position is done already moves on without doing it again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import events
from ..common.bulk import objects_insert, statistics_refresh
from ..models import Automation, AutomationRun, Lead, RunStep
from ..nurturing.segments import segment_compile
from .actions import Context, wait_end
from .bulk_actions import BULK_APPLY, actions_apply_bulk
from .runs import DISABLED, _depth, run_execute

Status = AutomationRun.Status
Outcome = RunStep.Outcome
WAITS = ("wait", "wait_until")


@dataclass
class _Run:
    pk: int
    lead_id: int
    position: int
    steps: list[str] = field(default_factory=list)


@dataclass
class _Outcomes:
    """What a batch decided, written at its end: finished, parked and released runs, new step rows."""

    steps: list[RunStep] = field(default_factory=list)
    done: list[tuple[_Run, int]] = field(default_factory=list)
    waiting: list[tuple[_Run, datetime]] = field(default_factory=list)
    released: list[_Run] = field(default_factory=list)
    cancelled: list[_Run] = field(default_factory=list)


def runs_execute(*, run_ids: Iterable[int], now: datetime | None = None) -> int:
    """Run several runs: set-based for the steps that can be, then one by one from the step where
    that stopped; returns how many reached an end or a wait."""
    now = now or timezone.now()
    statistics_refresh(
        Lead, AutomationRun
    )  # before the transaction: its COMMIT checks the rows it writes against these
    finished, released = runs_execute_batch(run_ids=run_ids, now=now)
    return finished + sum(1 for run_id in released if run_execute(run_id=run_id, now=now) is not None)


def runs_execute_batch(*, run_ids: Iterable[int], now: datetime) -> tuple[int, list[int]]:
    """Run the due runs among `run_ids` set-based; returns (how many reached an end or a wait, the
    ids released to the one-by-one path)."""
    with transaction.atomic():
        rows = list(
            AutomationRun.objects.filter(pk__in=list(run_ids), status__in=AutomationRun.OPEN)
            .filter(Q(resume_at__isnull=True) | Q(resume_at__lte=now))
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", "automation_id", "depth", "lead_id", "position")
        )
        if not rows:
            return 0, []
        groups: dict[tuple[int, int], list[_Run]] = defaultdict(list)
        for pk, automation_id, depth, lead_id, position in rows:
            groups[(automation_id, depth)].append(_Run(pk=pk, lead_id=lead_id, position=position))
        automations = Automation.objects.in_bulk({automation_id for automation_id, _ in groups})
        outcomes = _Outcomes()
        # One timeline event per automation (a webhook delivery is per event and lead: two
        # automations' runs on one lead must stay two messages).
        records: dict[int, list[events.AutomationRunRecord]] = defaultdict(list)
        for (automation_id, depth), runs in groups.items():
            automation = automations[automation_id]
            if not automation.enabled:  # disabled meanwhile: its runs stop here
                outcomes.cancelled.extend(runs)
                records[automation_id] += [_record(automation, run, Status.CANCELLED, error=DISABLED) for run in runs]
                continue
            token = _depth.set(depth)  # events these steps publish start runs one level deeper
            try:
                _walk(automation, runs, outcomes, now)
            finally:
                _depth.reset(token)
            mine = {run.pk for run in runs}
            records[automation_id] += [
                _record(automation, run, Status.DONE) for run, _ in outcomes.done if run.pk in mine
            ]
            records[automation_id] += [
                _record(automation, run, Status.WAITING) for run, _ in outcomes.waiting if run.pk in mine
            ]
        _write(outcomes, now)
        for ran in records.values():
            events.automations_ran(records=ran, occurred_at=now)
    return len(rows) - len(outcomes.released), [run.pk for run in outcomes.released]


def _walk(automation: Automation, runs: list[_Run], outcomes: _Outcomes, now: datetime) -> None:
    """Move one automation's runs through its steps, those at the same step together."""
    actions = automation.actions
    ctx = Context(automation_name=automation.name, now=now, by_id=automation.created_by_id)
    pending = list(runs)
    while pending:
        position = min(run.position for run in pending)
        here = [run for run in pending if run.position == position]
        rest = [run for run in pending if run.position != position]
        if position >= len(actions):
            outcomes.done.extend((run, position) for run in here)
            pending = rest
            continue
        todo = _skip_done(here, position, outcomes)
        moved_on = [run for run in here if run.position > position]  # their step here was done before
        pending = rest + moved_on + (_step(actions[position], todo, position, outcomes, ctx) if todo else [])


def _skip_done(here: list[_Run], position: int, outcomes: _Outcomes) -> list[_Run]:
    """Runs whose step row here exists already: done or skipped moves on (a repeated task), failed
    goes to the one-by-one path (which counts its attempts). The rest take the step."""
    existing = dict(
        RunStep.objects.filter(run_id__in=[run.pk for run in here], position=position).values_list("run_id", "outcome")
    )
    if not existing:
        return here
    todo = []
    for run in here:
        outcome = existing.get(run.pk)
        if outcome is None:
            todo.append(run)
        elif outcome in (Outcome.DONE, Outcome.SKIPPED):
            run.position = position + 1
        else:
            outcomes.released.append(run)
    return todo


def _step(action: dict, here: list[_Run], position: int, outcomes: _Outcomes, ctx: Context) -> list[_Run]:
    """One step for the runs standing at it; returns the runs that go on to a later step."""
    kind = action["type"]
    if kind in WAITS:
        zones = (
            dict(Lead.objects.filter(pk__in=[run.lead_id for run in here]).values_list("pk", "time_zone"))
            if kind == "wait_until"
            else {}
        )
        for run in here:
            until = wait_end(action=action, time_zone=zones.get(run.lead_id, ""), now=ctx.now)
            outcomes.steps.append(
                _row(run, position, kind, Outcome.DONE, f"waited until {until:%Y-%m-%d %H:%M}", ctx.now)
            )
            run.steps.append(f"waiting until {until:%Y-%m-%d %H:%M}")
            run.position = position + 1
            outcomes.waiting.append((run, until))
        return []
    if kind == "branch":
        holds = set(
            Lead.objects.filter(pk__in=[run.lead_id for run in here])
            .filter(segment_compile(definition=action["conditions"], now=ctx.now))
            .values_list("pk", flat=True)
        )
        for run in here:
            held = run.lead_id in holds
            detail = "condition held" if held else f"condition did not hold: skipped {action['skip']}"
            outcomes.steps.append(_row(run, position, kind, Outcome.DONE, detail, ctx.now))
            run.position = position + (1 if held else 1 + action["skip"])
        return here
    if kind not in BULK_APPLY:
        outcomes.released.extend(here)  # done one by one, from this step
        return []
    try:
        with transaction.atomic():  # a failing statement leaves the batch's other work standing
            result = actions_apply_bulk(action=action, lead_ids=[run.lead_id for run in here], ctx=ctx)
    except (ValidationError, DatabaseError, ObjectDoesNotExist, ValueError):
        outcomes.released.extend(here)  # the one-by-one path tries each, records the error, retries
        return []
    for run in here:
        outcome, detail = result.get(run.lead_id, (Outcome.SKIPPED, "the lead is gone"))
        outcomes.steps.append(_row(run, position, kind, outcome, detail, ctx.now))
        run.steps.append(detail if outcome == Outcome.DONE else f"skipped: {detail}")
        run.position = position + 1
    return here


def _row(run: _Run, position: int, kind: str, outcome: str, detail: str, now: datetime) -> RunStep:
    return RunStep(
        run_id=run.pk,
        position=position,
        action=kind,
        outcome=outcome,
        detail=detail[:300],
        attempts=1,
        claimed_at=now,
        finished_at=now,
    )


def _record(automation: Automation, run: _Run, status: str, error: str = "") -> events.AutomationRunRecord:
    return events.AutomationRunRecord(
        lead_id=run.lead_id,
        automation_id=automation.pk,
        automation_name=automation.name,
        run_id=run.pk,
        status=status,
        steps=run.steps,
        error=error,
    )


def _write(outcomes: _Outcomes, now: datetime) -> None:
    """The batch's writes: step rows in one INSERT, the runs in one UPDATE per (outcome, position)."""
    objects_insert(objects=outcomes.steps)
    started = Coalesce(F("started_at"), now)
    done: dict[int, list[int]] = defaultdict(list)
    for run, position in outcomes.done:
        done[position].append(run.pk)
    for position, ids in done.items():
        AutomationRun.objects.filter(pk__in=ids).update(
            status=Status.DONE,
            position=position,
            started_at=started,
            finished_at=now,
            resume_at=None,
            error="",
        )
    waiting: dict[tuple[int, datetime], list[int]] = defaultdict(list)
    for run, until in outcomes.waiting:
        waiting[(run.position, until)].append(run.pk)
    for (position, until), ids in waiting.items():
        AutomationRun.objects.filter(pk__in=ids).update(
            status=Status.WAITING,
            position=position,
            started_at=started,
            resume_at=until,
            error="",
        )
    released: dict[int, list[int]] = defaultdict(list)
    for run in outcomes.released:
        released[run.position].append(run.pk)
    for position, ids in released.items():
        AutomationRun.objects.filter(pk__in=ids).update(status=Status.PENDING, position=position, resume_at=None)
    if outcomes.cancelled:
        AutomationRun.objects.filter(pk__in=[run.pk for run in outcomes.cancelled]).update(
            status=Status.CANCELLED,
            error=DISABLED,
            resume_at=None,
            finished_at=now,
        )
