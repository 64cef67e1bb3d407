"""Health endpoints for load balancers, orchestrators and monitoring (docs/operations.md).

- `/health/live`: the process answers. No database, no cache, no session: a liveness probe
  must not restart a web process because PostgreSQL is slow. Answered before the host check,
  so a probe that asks by IP address is not a 400.
- `/health/ready`: this web process can serve: the database, Redis and the broker answer.
- `/health/`: everything an operator watches: the above, plus a Celery worker answering a ping,
  beat's last run (the outbox sweep's heartbeat), the broker's queue depth and the outbox backlog.

Each answers 200 when healthy and 500 otherwise, as JSON (`?format=json` or `Accept:
application/json`), text or HTML (django-health-check's views).
"""

import dataclasses
import datetime

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from kombu import Connection
from kombu.exceptions import OperationalError as BrokerError

from leads.models import OutboxJob

from .celery import app

HEARTBEAT_KEY = "leadcrm:health:beat-heartbeat"
LIVE_PATH = "/health/live"


def beat_heartbeat() -> None:
    """Called by the outbox sweep (beat sends it every few seconds): beat and a worker are alive."""
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), timeout=None)


@dataclasses.dataclass
class RedisPing(HealthCheck):
    """Redis (cache, rate limits, broker) answers a PING; skipped on the embedded default (no Redis)."""

    def run(self):
        if not settings.REDIS_URL:
            return
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        except (redis.RedisError, OSError) as exc:
            raise ServiceUnavailable("Redis does not answer") from exc
        finally:
            client.close()


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (a fresh one, so a dead broker is seen at once)."""

    def run(self):
        with Connection(
            settings.CELERY_BROKER_URL, connect_timeout=2, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS
        ) as conn:
            try:
                conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            except (BrokerError, *conn.connection_errors, OSError) as exc:
                raise ServiceUnavailable("The broker does not answer") from exc


@dataclasses.dataclass
class Worker(HealthCheck):
    """At least one Celery worker answers a ping within a second."""

    def run(self):
        try:
            replies = app.control.ping(timeout=settings.HEALTH_WORKER_PING_SECONDS)
        except OSError as exc:
            raise ServiceUnavailable("The broker does not answer, so no worker can") from exc
        if not replies:
            raise ServiceUnavailable("No Celery worker answers")


@dataclasses.dataclass
class BeatHeartbeat(HealthCheck):
    """Beat sent the outbox sweep, and a worker ran it, within HEALTH_BEAT_MAX_SECONDS."""

    def run(self):
        last = cache.get(HEARTBEAT_KEY)
        if last is None:
            raise ServiceUnavailable("Beat has not run the outbox sweep yet")
        age = (timezone.now() - datetime.datetime.fromisoformat(last)).total_seconds()
        if age > settings.HEALTH_BEAT_MAX_SECONDS:
            raise ServiceUnavailable(f"Beat's last outbox sweep ran {int(age)} s ago")


@dataclasses.dataclass
class QueueDepth(HealthCheck):
    """The broker's default queue holds at most HEALTH_QUEUE_MAX messages (Redis broker only)."""

    def run(self):
        if not settings.REDIS_URL:
            return
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            depth = client.llen(app.conf.task_default_queue)
        except (redis.RedisError, OSError) as exc:
            raise ServiceUnavailable("The broker does not answer") from exc
        finally:
            client.close()
        if depth > settings.HEALTH_QUEUE_MAX:
            raise ServiceUnavailable(f"{depth} messages wait in the queue (more than {settings.HEALTH_QUEUE_MAX})")


@dataclasses.dataclass
class OutboxBacklog(HealthCheck):
    """Jobs overdue in the outbox (unclaimed a minute after they were due) stay under HEALTH_OUTBOX_MAX."""

    def run(self):
        overdue = timezone.now() - datetime.timedelta(seconds=60)
        limit = settings.HEALTH_OUTBOX_MAX
        try:
            count = (
                OutboxJob.objects.filter(Q(claimed_at__isnull=True), due_at__lt=overdue).order_by()[: limit + 1].count()
            )
        finally:
            connection.close()  # this runs in a short-lived executor thread: its connection goes with it
        if count > limit:
            raise ServiceUnavailable(f"More than {limit} jobs are overdue in the outbox")


READY_CHECKS = ("health_check.checks.Database", RedisPing, Broker)
ALL_CHECKS = (*READY_CHECKS, Worker, BeatHeartbeat, QueueDepth, OutboxBacklog)


class NamedHealthCheckView(HealthCheckView):
    """django-health-check's view, with each check named by its class in the JSON answer
    ("Database", "Worker"…) rather than by its repr."""

    def render_to_response_json(self, status):
        return JsonResponse(
            {type(result.check).__name__: "OK" if not result.error else str(result.error) for result in self.results},
            status=status,
        )


ready_view = NamedHealthCheckView.as_view(checks=READY_CHECKS)
full_view = NamedHealthCheckView.as_view(checks=ALL_CHECKS)


class LivenessMiddleware:
    """First in MIDDLEWARE: answers /health/live before the host check, sessions or the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == LIVE_PATH and request.method in ("GET", "HEAD"):
            response = HttpResponse(b'{"status": "alive"}', content_type="application/json")
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)
