"""The outbox relay: lead-processing jobs reach the worker without the web process talking to the broker.

A capture writes the lead, its capture record, timeline entry and processing job (an outbox row)
in one statement and answers; no web process publishes a job of `jobs.RELAYED_TASKS`. A thread in
every Celery worker's main process (`leadcrm.worker.OutboxRelay`) polls the outbox every
OUTBOX_RELAY_SECONDS and publishes what was committed since: one message per job when a few came,
batch jobs of `jobs.BATCH_JOB_SIZE` leads (`process_leads_batch_task`) when `jobs.BATCH_JOB_MIN` or
more did. The guarantees stay the outbox's (docs/jobs.md): the row commits with the lead, the task
claims it (a second copy skips), and the sweeper sends what the relay did not (no worker running,
the broker down) 3 s after it was due. Why a poll and not LISTEN/NOTIFY: a NOTIFY makes every
capture's commit take PostgreSQL's global notify-queue lock, while an idle poll is one indexed
statement (bench/README.md, issue 22 §2).
"""

import json
import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_guid import get_guid

from . import jobs
from .models import OutboxJob

logger = logging.getLogger(__name__)

RELAY_BATCH = 2000  # jobs taken per statement; a full take is followed at once by the next
RELAY_ERROR_WAIT_SECONDS = 1.0

_RELAY_SQL = """
WITH picked AS (
    SELECT o.id FROM leads_outboxjob o
    WHERE o.claimed_at IS NULL AND o.published_at IS NULL AND o.due_at <= %(now)s AND o.task_name IN ({tasks})
    ORDER BY o.id
    LIMIT %(batch)s
    {skip_locked}
)
UPDATE leads_outboxjob SET published_at = %(now)s, publishes = publishes + 1
FROM picked WHERE leads_outboxjob.id = picked.id
RETURNING leads_outboxjob.id, leads_outboxjob.task_name, leads_outboxjob.args, leads_outboxjob.due_at,
          leads_outboxjob.trace_id, leads_outboxjob.created_at
"""


def _relay_sql() -> tuple[str, dict]:
    tasks = sorted(jobs.RELAYED_TASKS)
    names = {f"task{index}": name for index, name in enumerate(tasks)}
    sql = _RELAY_SQL.format(
        tasks=", ".join(f"%({key})s" for key in names),
        skip_locked="FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else "",
    )
    return sql, names


def outbox_relay(*, now: datetime | None = None, limit: int = RELAY_BATCH) -> tuple[int, int, bool]:
    """Publish the relayed jobs that are due and were never published: one transaction marks up to
    `limit` of them published (replacing BATCH_JOB_MIN or more single-lead jobs by batch jobs),
    then their messages go. Returns (jobs taken, messages sent, whether the broker failed); on a
    failure the unsent rows are unmarked, for the next relay or the sweeper."""
    now = now or timezone.now()
    sql, names = _relay_sql()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, {**names, "now": now, "batch": limit})
        rows = cursor.fetchall()
        if not rows:
            return 0, 0, False
        outgoing = jobs.outbox_batch_rows(rows, now=now)
    sent, failed = jobs.outbox_send_rows(outgoing, now=now)
    return len(rows), sent, failed


def outbox_relay_run(*, stop: threading.Event, seconds: float | None = None) -> None:
    """Relay until `stop` is set (the worker's relay thread): after a full take at once, otherwise
    every `seconds`; after a broker failure, not before jobs.BROKER_BACKOFF_SECONDS."""
    seconds = settings.OUTBOX_RELAY_SECONDS if seconds is None else seconds
    try:
        while not stop.is_set():
            try:
                taken, _sent, failed = outbox_relay()
            except DatabaseError as exc:  # PostgreSQL restarted or unreachable: a new connection next time
                logger.warning("outbox relay: database unavailable, trying again: %s", exc)
                connection.close()
                stop.wait(RELAY_ERROR_WAIT_SECONDS)
                continue
            if failed:
                stop.wait(jobs.BROKER_BACKOFF_SECONDS)
            elif taken < RELAY_BATCH:
                stop.wait(seconds)
    finally:
        connection.close()  # the thread's own connection


# --- Piles: a capture burst with the broker up -----------------------------------------------

# Jobs of a jobs.BATCHED_TASKS task published this long ago and still unclaimed are a pile: the
# messages arrive faster than the workers run them one by one.
PILE_AFTER = timedelta(seconds=2)

_PILE_SQL = """
DELETE FROM leads_outboxjob WHERE id IN (
    SELECT o.id FROM leads_outboxjob o
    WHERE o.task_name = %s AND o.claimed_at IS NULL AND o.published_at < %s
    ORDER BY o.id LIMIT %s FOR UPDATE SKIP LOCKED
)
RETURNING args, created_at
"""


def outbox_take_pile(*, task_name: str) -> tuple[int, list[list]] | None:
    """Called by a single-lead task as it starts: when jobs.BATCH_JOB_MIN or more jobs of its kind
    wait in a pile, take up to jobs.BATCH_JOB_SIZE of them into one batch job claimed by this worker
    (in one transaction; their messages then find no row and skip). Returns (the batch job's id,
    [[id, enqueued at]]) to run and then `job_done`, or None (no pile: one statement)."""
    if task_name not in jobs.BATCHED_TASKS or not jobs.is_postgres():
        return None
    now = timezone.now()
    waiting = OutboxJob.objects.filter(task_name=task_name, claimed_at__isnull=True, published_at__lt=now - PILE_AFTER)
    if not waiting.order_by("due_at")[jobs.BATCH_JOB_MIN - 1 : jobs.BATCH_JOB_MIN].exists():
        return None
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_PILE_SQL, [task_name, now - PILE_AFTER, jobs.BATCH_JOB_SIZE])
            taken = [
                [(json.loads(args) if isinstance(args, str) else args)[0], created_at.isoformat()]
                for args, created_at in cursor.fetchall()
            ]
        if not taken:
            return None
        job = OutboxJob.objects.create(
            task_name=jobs.BATCHED_TASKS[task_name],
            args=[taken],
            created_at=now,
            due_at=now,
            published_at=now,
            publishes=1,
            claimed_at=now,
            trace_id=get_guid() or "",
        )
        with connection.cursor() as cursor:  # a session lock: it outlives this transaction, not this worker
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [jobs.ADVISORY_NAMESPACE, job.pk % 2**31])
    logger.info("%s: %s jobs waiting in a pile taken into batch job %s", task_name, len(taken), job.pk)
    return job.pk, taken


def job_hand_back(*, job_id: int) -> None:
    """A taken batch failed before it finished: the sweeper sends it (soon, as never published)."""
    OutboxJob.objects.filter(pk=job_id).update(claimed_at=None, published_at=None)
    jobs.job_unlock(job_id)
