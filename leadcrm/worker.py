"""The worker's consumer (settings.CELERY_WORKER_CONSUMER): Celery's own, except that a lost broker
is retried every 1–5 s instead of kombu's 2, 4, 6 … 30 s, so a worker notices a broker back from
an outage within seconds (the outbox sweep then republishes what was stranded: docs/jobs.md)."""
import functools

from celery.worker.consumer import Consumer

BROKER_RETRY_MAX_SECONDS = 5


class QuickReconnectConsumer(Consumer):
    def ensure_connected(self, conn):
        # Consumer.ensure_connected passes no intervals; kombu's defaults wait up to 30 s per try.
        conn.ensure_connection = functools.partial(
            conn.ensure_connection, interval_start=1, interval_step=1, interval_max=BROKER_RETRY_MAX_SECONDS,
        )
        return super().ensure_connected(conn)
