"""Background jobs: `enqueue("leads.<stage>.tasks.xxx", *ids)` by task name, with a transactional outbox.

The guarantee (docs/jobs.md): a job exists exactly when the transaction that asked for it
committed, and it runs to the end at least once, whatever happens to the broker or a worker.
- `enqueue` writes an OutboxJob row in the caller's transaction; after commit a background
  thread publishes it (no request waits on the broker) with the row's id in a message header;
  lead processing (RELAYED_TASKS) is published by the workers' relay instead (outbox_relay.py).
- The task claims the row when it starts (OutboxTask) and deletes it when it finished, so a
  second copy of the message (a republish, a redelivery) finds nothing to do and skips.
- `outbox_sweep` (beat, every few seconds) republishes rows never published, rows whose message
  the broker lost (published long enough ago while the broker's queue is empty), and rows
  claimed by a worker that died (on PostgreSQL: its session's advisory lock is gone).
Tasks stay idempotent on their own as well (a claimed row before any side effect), because
between "the email went out" and "the row was deleted" a worker can still die.
"""

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta

from celery import Task
from celery.exceptions import Retry
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django_guid import get_guid, set_guid
from django_redis.exceptions import ConnectionInterrupted
from kombu.exceptions import OperationalError as BrokerError

from leadcrm.celery import app

from .models import OutboxJob

logger = logging.getLogger(__name__)

OUTBOX_HEADER = "leadcrm_outbox_id"
# A row not published this long after it was due missed its publish (broker down at commit,
# or the web process died first): the sweeper sends it.
PUBLISH_GRACE = timedelta(seconds=3)
# A row published this long ago and still unclaimed while the broker's queue is empty was
# dropped (a Redis restart without persistence, a worker killed with it prefetched).
LOST_AFTER = timedelta(seconds=20)
# The same when the queue's length cannot be read (the filesystem transport) or is not empty.
LOST_AFTER_UNCHECKED = timedelta(minutes=10)
SWEEP_BATCH = 1000
SWEEP_MAX = 50_000
# After a failed publish, the web processes stop trying for this long (the sweeper sends what
# piles up), so a dead broker never makes the publishing thread a 2-seconds-per-job backlog.
BROKER_BACKOFF_SECONDS = 3.0
# Single-lead jobs that pile up (a broker outage strands thousands) run far cheaper set-based: the
# sweep replaces them by batch jobs of BATCH_JOB_SIZE leads, one task per batch so every worker
# process takes a share. {single task: batch task}; the batch task takes [[id, enqueued at], …].
BATCHED_TASKS = {"leads.tasks.process_lead_task": "leads.tasks.process_leads_batch_task"}
# Jobs no web process publishes: the relay in every worker (leads/outbox_relay.py) sends them, in
# batches when they come fast, a fraction of a second after commit (a capture never waits on the broker).
# With them the processing of a batch capture's leads (capture/batch.py: an import, a backfill): the
# importing process published 1,000 of them per 100,000 rows from its own thread, ~10 % of its
# CPU under the GIL it shares with the import; the relay sends them from the worker's main process.
RELAYED_TASKS = frozenset([*BATCHED_TASKS, *BATCHED_TASKS.values(), "leads.tasks.process_leads_task"])
BATCH_JOB_SIZE = 200
BATCH_JOB_MIN = 20  # fewer stranded jobs than this go out one by one, as they came
# Advisory lock key space for claims: (ADVISORY_NAMESPACE, id mod 2^31).
ADVISORY_NAMESPACE = 0x4A0B


# --- Enqueueing ---------------------------------------------------------------------------------

_publisher: ThreadPoolExecutor | None = None
_publisher_lock = threading.Lock()
_broker_down_until = 0.0


def _background_publisher() -> ThreadPoolExecutor:
    """One lazily started publishing thread per process (never at import or in AppConfig.ready)."""
    global _publisher
    with _publisher_lock:
        if _publisher is None:
            _publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leadcrm-publish")
        return _publisher


def enqueue(task_name: str, *args, countdown: float | None = None) -> None:
    """Run the task `task_name` with `args` once the current transaction commits, at least once
    (the relay sends RELAYED_TASKS; the publishing thread the others)."""
    now = timezone.now()
    job = OutboxJob.objects.create(
        task_name=task_name,
        args=list(args),
        created_at=now,
        due_at=now + timedelta(seconds=countdown or 0),
        trace_id=get_guid() or "",
    )
    if task_name not in RELAYED_TASKS:
        transaction.on_commit(lambda: _submit(_publish_fresh, job.pk, task_name, job.args, countdown))


_pending = 0


def _submit(function, *args) -> None:
    global _pending
    with _publisher_lock:
        _pending += 1
    _background_publisher().submit(_run_then_tidy, get_guid(), function, *args)


# The publishing thread keeps its database connection while publishes keep coming and lets go of
# it once none came for this long (an idle web process keeps no extra connection, and a test
# database can be dropped). Closing it after every publish, as before, made each lead start a
# PostgreSQL backend of its own: more CPU than the rest of the capture together (bench/README.md).
PUBLISHER_IDLE_CLOSE_SECONDS = 2.0
_last_done = 0.0
_close_timer: threading.Timer | None = None


def _run_then_tidy(trace_id: str | None, function, *args) -> None:
    """Run one publish under the request id that asked for it (the message carries it to the
    worker's logs); once idle, the thread's connection is closed after PUBLISHER_IDLE_CLOSE_SECONDS."""
    global _pending, _last_done
    try:
        set_guid(trace_id)
        function(*args)
    finally:
        with _publisher_lock:
            _pending -= 1
            _last_done = time.monotonic()
            idle = _pending == 0
        if idle:
            _close_later(PUBLISHER_IDLE_CLOSE_SECONDS)


def _close_later(seconds: float) -> None:
    """One timer per process at a time: it asks the publishing thread to close its connection."""
    global _close_timer
    with _publisher_lock:
        if _close_timer is not None:
            return
        _close_timer = threading.Timer(seconds, _ask_close)
        _close_timer.daemon = True
    _close_timer.start()


def _ask_close() -> None:
    try:
        _background_publisher().submit(_close_if_idle)
    except RuntimeError:  # the interpreter is exiting: its connections go with it
        pass


def _close_if_idle() -> None:
    """In the publishing thread: close its connection if nothing was published for a while."""
    global _close_timer
    with _publisher_lock:
        _close_timer = None
        idle_for = time.monotonic() - _last_done
        idle = _pending == 0
    if idle and idle_for >= PUBLISHER_IDLE_CLOSE_SECONDS:
        connection.close()
    elif idle:
        _close_later(PUBLISHER_IDLE_CLOSE_SECONDS - idle_for)


def publisher_release_connection(timeout: float = 10.0) -> None:
    """Close the publishing thread's database connection now (tests, before a database is dropped)."""
    _background_publisher().submit(lambda: connection.close()).result(timeout=timeout)  # the thread's own connection


def enqueue_debounced(key: str, task_name: str, *args, seconds: float) -> bool:
    """Enqueue the task `seconds` from now unless the same key did so within those seconds
    (100 page views → one rescore); True when this call enqueued it."""
    try:
        first = cache.add(f"leadcrm:debounce:{key}", 1, timeout=seconds)
    except (ConnectionInterrupted, ConnectionError, OSError) as exc:  # the cache is down: enqueue, never drop one
        logger.warning("debounce cache unavailable, %s enqueued without it: %s", key, exc)
        first = True
    if first:
        enqueue(task_name, *args, countdown=seconds)
    return first


# Tasks that moved into their stage's `tasks.py` (2026-12): a job enqueued under the old name (an
# outbox row or a message written by a process started before the upgrade) goes out under the new one.
RENAMED_TASKS = {
    "leads.tasks.assign_lead_task": "leads.distribution.tasks.assign_lead_task",
    "leads.tasks.assign_leads_task": "leads.distribution.tasks.assign_leads_task",
    "leads.tasks.drain_queues_task": "leads.distribution.tasks.drain_queues_task",
    "leads.tasks.enrich_leads_task": "leads.enrichment.tasks.enrich_leads_task",
    "leads.tasks.form_follow_ups_task": "leads.automations.tasks.form_follow_ups_task",
    "leads.tasks.import_leads_task": "leads.capture.tasks.import_leads_task",
    "leads.tasks.meta_backfill_task": "leads.capture.tasks.meta_backfill_task",
    "leads.tasks.notify_by_email_task": "leads.workspace.tasks.notify_by_email_task",
    "leads.tasks.poll_mailboxes_task": "leads.capture.tasks.poll_mailboxes_task",
    "leads.tasks.process_due_enrollments_task": "leads.nurturing.tasks.process_due_enrollments_task",
    "leads.tasks.refresh_segment_task": "leads.nurturing.tasks.refresh_segment_task",
    "leads.tasks.refresh_segments_task": "leads.nurturing.tasks.refresh_segments_task",
    "leads.tasks.rescore_all_task": "leads.scoring.tasks.rescore_all_task",
    "leads.tasks.rescore_leads_task": "leads.scoring.tasks.rescore_leads_task",
    "leads.tasks.rescore_range_task": "leads.scoring.tasks.rescore_range_task",
    "leads.tasks.run_enrollments_task": "leads.nurturing.tasks.run_enrollments_task",
    "leads.tasks.sla_reassign_task": "leads.distribution.tasks.sla_reassign_task",
    "leads.tasks.train_scoring_task": "leads.scoring.tasks.train_scoring_task",
}


def _send(job_id: int, task_name: str, args: list, countdown: float | None) -> None:
    task_name = RENAMED_TASKS.get(task_name, task_name)
    app.send_task(task_name, args=args, countdown=countdown or None, headers={OUTBOX_HEADER: job_id}, retry=False)


def _publish_fresh(job_id: int, task_name: str, args: list, countdown: float | None) -> bool:
    """Publish a just-committed job; on a broker failure leave it for the sweeper."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return False  # the broker failed a moment ago: do not queue up 2-second timeouts
    try:
        _send(job_id, task_name, args, countdown)
    except (BrokerError, ConnectionError, OSError) as exc:
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        logger.warning("broker unavailable, %s%r left in the outbox for the sweeper: %s", task_name, tuple(args), exc)
        return False
    # A worker may already have claimed (or finished) it: then there is nothing to mark. (SQL
    # written once: the ORM compiled this UPDATE anew for every lead.)
    with connection.cursor() as cursor:
        cursor.execute(_MARK_PUBLISHED_SQL, [timezone.now(), job_id])
    return True


_MARK_PUBLISHED_SQL = (
    f"UPDATE {OutboxJob._meta.db_table} SET published_at = %s, publishes = publishes + 1"
    " WHERE id = %s AND claimed_at IS NULL"
)


def publisher_forget_failures() -> None:
    """Try the broker again at the next publish instead of after the back-off (tests, a restart)."""
    global _broker_down_until
    _broker_down_until = 0.0


def publisher_flush(timeout: float = 10.0) -> None:
    """Wait until this process's publishing thread has sent what it was given (tests, commands)."""
    _background_publisher().submit(lambda: None).result(timeout=timeout)


# --- Claiming, in the worker --------------------------------------------------------------------


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def job_claim(*, job_id: int) -> bool:
    """Take the job for this run; False when it already finished or a live worker is running it."""
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [ADVISORY_NAMESPACE, job_id % 2**31])
            if not cursor.fetchone()[0]:
                return False
        if OutboxJob.objects.filter(pk=job_id).update(claimed_at=timezone.now()):
            return True
        job_unlock(job_id)
        return False
    # Without advisory locks (SQLite, one machine): a claim older than the task time limit is stale.
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    unclaimed_or_stale = Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale)
    return bool(OutboxJob.objects.filter(unclaimed_or_stale, pk=job_id).update(claimed_at=timezone.now()))


def job_unlock(job_id: int) -> None:
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_NAMESPACE, job_id % 2**31])


def job_done(*, job_id: int) -> None:
    """The job finished (or failed for good): its row goes."""
    OutboxJob.objects.filter(pk=job_id).delete()
    job_unlock(job_id)


def job_release(*, job_id: int, countdown: float | None) -> None:
    """The task asked to be retried: the row waits for the retry message (or the sweeper)."""
    now = timezone.now()
    OutboxJob.objects.filter(pk=job_id).update(
        claimed_at=None, published_at=now, due_at=now + timedelta(seconds=countdown or 0)
    )
    job_unlock(job_id)


def _outbox_id(request) -> int | None:
    value = getattr(request, OUTBOX_HEADER, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(OUTBOX_HEADER)
    return int(value) if value is not None else None


class OutboxTask(Task):
    """Every task's base (leadcrm/celery.py): a message from the outbox runs only if it can claim
    its row, and the row is deleted when the task finished. Other messages (beat) run as usual."""

    def __call__(self, *args, **kwargs):
        job_id = None if self.request.called_directly else _outbox_id(self.request)
        if job_id is None:
            return super().__call__(*args, **kwargs)
        if not job_claim(job_id=job_id):
            logger.info("%s: outbox job %s already done or running elsewhere, skipped", self.name, job_id)
            return None
        logger.info("%s%r: outbox job %s started", self.name, tuple(args), job_id)
        try:
            result = super().__call__(*args, **kwargs)
        except Retry as retry:
            job_release(job_id=job_id, countdown=retry.when if isinstance(retry.when, (int, float)) else None)
            raise
        except Exception:
            # Failed for good (Celery logs it; retries raise Retry instead). A worker stopped
            # mid-task (SystemExit, a kill) keeps its claim: the sweeper sends the job again.
            job_done(job_id=job_id)
            raise
        job_done(job_id=job_id)
        return result


# --- The sweeper --------------------------------------------------------------------------------


def _queue_is_empty() -> bool | None:
    """Whether the broker's default queue holds no message (None: cannot tell on this transport)."""
    conn = app.connection_for_read()
    try:
        client = getattr(conn.default_channel, "client", None)
        if client is None or not hasattr(client, "llen"):
            return None
        return client.llen(app.conf.task_default_queue) == 0
    except (BrokerError, OSError, *conn.connection_errors, *conn.channel_errors):
        return None
    finally:
        conn.release()


# The jobs the sweep takes: never published (or their publish failed), lost by the broker, or
# claimed by a worker that died.
_STRANDED = """(o.claimed_at IS NULL AND o.due_at < %(unpublished_before)s
           AND (o.published_at IS NULL OR (o.published_at < %(lost_before)s AND o.due_at < %(lost_before)s)))
       OR (o.claimed_at IS NOT NULL AND o.claimed_at < %(unpublished_before)s AND {dead_claim})"""
_SWEEP_SQL = (
    """
WITH picked AS (
    SELECT o.id FROM leads_outboxjob o
    WHERE """
    + _STRANDED
    + """
    ORDER BY o.id
    LIMIT %(batch)s
    {skip_locked}
)
UPDATE leads_outboxjob SET published_at = %(now)s, publishes = publishes + 1, claimed_at = NULL
FROM picked WHERE leads_outboxjob.id = picked.id
RETURNING leads_outboxjob.id, leads_outboxjob.task_name, leads_outboxjob.args, leads_outboxjob.due_at,
          leads_outboxjob.trace_id, leads_outboxjob.created_at
"""
)
# A claim whose worker is gone: its database session (and advisory lock) ended with it.
_DEAD_CLAIM_PG = """NOT EXISTS (
    SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = %(namespace)s::int8::oid AND l.objid = (o.id %% 2147483648)::int8::oid)"""
_DEAD_CLAIM_OTHER = "o.claimed_at < %(stale_claim_before)s"


@contextmanager
def _traced(trace_id: str):
    """Publish under the job's own request id (the sweep's task has another), then restore it."""
    previous = get_guid()
    set_guid(trace_id or previous)
    try:
        yield
    finally:
        set_guid(previous)


def _sweep_params(now: datetime) -> tuple[dict, dict]:
    empty = _queue_is_empty()
    lost_before = now - (LOST_AFTER if empty else LOST_AFTER_UNCHECKED)
    postgres = is_postgres()
    formats = {
        "dead_claim": _DEAD_CLAIM_PG if postgres else _DEAD_CLAIM_OTHER,
        "skip_locked": "FOR UPDATE SKIP LOCKED" if postgres else "",
    }
    params = {
        "now": now,
        "unpublished_before": now - PUBLISH_GRACE,
        "lost_before": lost_before,
        "batch": SWEEP_BATCH,
        "namespace": ADVISORY_NAMESPACE,
        "stale_claim_before": now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT),
    }
    return formats, params


def outbox_send_rows(rows: list[tuple], *, now: datetime) -> tuple[int, bool]:
    """Send (job id, task name, args, due at, trace id, created at) rows; on a broker failure the unsent rows
    wait for the next sweep. Returns (how many were sent, whether the broker failed)."""
    for index, (job_id, task_name, args, due_at, trace_id, _) in enumerate(rows):
        if isinstance(args, str):  # SQLite hands JSON back as text
            args = json.loads(args)
        if isinstance(due_at, str):
            due_at = datetime.fromisoformat(due_at)
        countdown = max(0.0, (due_at - now).total_seconds()) if due_at else None
        try:
            with _traced(trace_id):
                _send(job_id, task_name, args, countdown)
        except (BrokerError, ConnectionError, OSError) as exc:
            unsent = [row[0] for row in rows[index:]]
            OutboxJob.objects.filter(pk__in=unsent, claimed_at__isnull=True).update(published_at=None)
            logger.warning("broker unavailable during the outbox sweep, %s jobs wait: %s", len(unsent), exc)
            return index, True
    return len(rows), False


def outbox_batch_rows(rows: list[tuple], *, now: datetime) -> list[tuple]:
    """In the sweep's transaction: replace the picked single jobs of a BATCHED_TASKS task (when
    BATCH_JOB_MIN or more) by batch jobs of BATCH_JOB_SIZE leads (one argument: [[id, enqueued at]]),
    marked published; returns the rows to send."""
    singles: dict[str, list[tuple]] = {}
    for row in rows:
        if row[1] in BATCHED_TASKS:
            singles.setdefault(row[1], []).append(row)
    batched = {name: picked for name, picked in singles.items() if len(picked) >= BATCH_JOB_MIN}
    if not batched:
        return rows
    gone = {row[0] for picked in batched.values() for row in picked}
    OutboxJob.objects.filter(pk__in=gone)._raw_delete(OutboxJob.objects.db)
    jobs: list[OutboxJob] = []
    for name, picked in batched.items():
        items = []
        for _, _, args, _, _, created_at in picked:
            args = json.loads(args) if isinstance(args, str) else args  # SQLite hands JSON back as text
            created_at = datetime.fromisoformat(created_at) if isinstance(created_at, str) else created_at
            items.append((args[0], created_at))
        for start in range(0, len(items), BATCH_JOB_SIZE):
            chunk = items[start : start + BATCH_JOB_SIZE]
            jobs.append(
                OutboxJob(
                    task_name=BATCHED_TASKS[name],
                    args=[[[pk, at.isoformat()] for pk, at in chunk]],
                    created_at=min(at for _, at in chunk),
                    due_at=now,
                    published_at=now,
                    publishes=1,
                )
            )
        logger.info("outbox: %s %s jobs go out in batches of %s", len(picked), name, BATCH_JOB_SIZE)
    OutboxJob.objects.bulk_create(jobs)
    return [row for row in rows if row[0] not in gone] + [
        (job.pk, job.task_name, job.args, job.due_at, job.trace_id, job.created_at) for job in jobs
    ]


def outbox_sweep(*, now: datetime | None = None) -> int:
    """Republish outbox jobs that were never published, were lost by the broker, or whose worker
    died; returns how many were sent. Stranded single-lead jobs of BATCHED_TASKS go out as batch
    jobs. Stops at the first broker failure (the next sweep goes on)."""
    now = now or timezone.now()
    formats, params = _sweep_params(now)
    sent = 0
    sql = _SWEEP_SQL.format(**formats)
    picked = 0
    while picked < SWEEP_MAX:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            if not rows:
                break
            outgoing = outbox_batch_rows(rows, now=now)
        picked += len(rows)
        count, failed = outbox_send_rows(outgoing, now=now)
        sent += count
        if failed:
            return sent
        if len(rows) < SWEEP_BATCH:
            break
    if sent:
        logger.info("outbox sweep republished %s jobs", sent)
    return sent
