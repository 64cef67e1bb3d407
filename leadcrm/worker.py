"""The worker's consumer (settings.CELERY_WORKER_CONSUMER): Celery's own, except that a lost broker
is retried every 1–5 s instead of kombu's 2, 4, 6 … 30 s, so a worker notices a broker back from
an outage within seconds (the outbox sweep then republishes what was stranded: docs/jobs.md).
And the outbox relay, a worker step (leadcrm/celery.py adds it) that publishes captured leads' jobs."""

import functools
import threading

from celery import bootsteps
from celery.worker.consumer import Consumer
from django.conf import settings

from leads.outbox_relay import outbox_relay_run

BROKER_RETRY_MAX_SECONDS = 5


class QuickReconnectConsumer(Consumer):
    def ensure_connected(self, conn):
        # Consumer.ensure_connected passes no intervals; kombu's defaults wait up to 30 s per try.
        conn.ensure_connection = functools.partial(
            conn.ensure_connection,
            interval_start=1,
            interval_step=1,
            interval_max=BROKER_RETRY_MAX_SECONDS,
        )
        return super().ensure_connected(conn)


class OutboxRelay(bootsteps.StartStopStep):
    """A thread in the worker's main process that publishes the lead-processing jobs captures
    committed (leads/outbox_relay.py): no web process talks to the broker for them. Every worker
    runs one; they share the work (SKIP LOCKED). OUTBOX_RELAY_SECONDS = 0 turns it off (the
    sweeper then sends the jobs, seconds later)."""

    requires = ("celery.worker.components:Pool",)  # started once the pool's processes are forked

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, worker):
        if settings.OUTBOX_RELAY_SECONDS <= 0:
            return
        self.stop_event.clear()
        self.thread = threading.Thread(
            target=outbox_relay_run,
            kwargs={"stop": self.stop_event},
            name="leadcrm-outbox-relay",
            daemon=True,
        )
        self.thread.start()

    def stop(self, worker):
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
            self.thread = None

    terminate = stop  # a cold shutdown (the test worker's) stops the thread as well
