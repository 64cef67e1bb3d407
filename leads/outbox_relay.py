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
import logging
import threading
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from . import jobs

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
