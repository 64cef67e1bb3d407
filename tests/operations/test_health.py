"""Health endpoints: what a load balancer, an orchestrator and an operator's monitoring rely on.
The checks talk to the real services: a private redis-server (stopped by the test) and a real
`celery worker -B` process (killed by the test)."""

import time
import uuid

import pytest
from django.test import override_settings

from leads.models import OutboxJob
from tests.leads.broker import kill_worker, private_redis, worker_process  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow


def _health(client, path: str = "/health/"):
    response = client.get(f"{path}?format=json")
    return response.status_code, response.json()


def _private_settings(redis_url: str):
    """This process's checks, cache and broker on the private redis-server."""
    return override_settings(
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        CACHES={"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url}},
    )


def _wait_for(predicate, seconds: float = 90.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return predicate()


@pytest.mark.django_db
def test_liveness_answers_without_the_database_even_to_a_probe_asking_by_ip(client, django_assert_num_queries):
    """A liveness probe must not restart web processes because PostgreSQL is slow, and the probe
    asks by the pod's IP address, which ALLOWED_HOSTS does not name."""
    with override_settings(ALLOWED_HOSTS=["crm.example.com"]), django_assert_num_queries(0):
        response = client.get("/health/live", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db(transaction=True)
def test_readiness_follows_redis_and_the_broker_going_away_and_coming_back(client, private_redis):
    with _private_settings(private_redis.url):
        status, body = _health(client, "/health/ready")
        assert status == 200, body
        assert body["Database"] == "OK"

        private_redis.stop()
        status, body = _health(client, "/health/ready")
        assert status == 500
        assert body["RedisPing"] == "Unavailable: Redis does not answer"
        assert body["Broker"] == "Unavailable: The broker does not answer"
        assert body["Database"] == "OK"

        private_redis.start()  # same port
        assert _health(client, "/health/ready")[0] == 200


@pytest.mark.django_db(transaction=True)
def test_the_full_check_sees_a_running_worker_and_beat_then_a_killed_one(client, private_redis):
    with _private_settings(private_redis.url):
        status, body = _health(client)
        assert status == 500  # nothing runs yet
        assert body["Worker"] == "Unavailable: No Celery worker answers"
        assert body["BeatHeartbeat"] == "Unavailable: Beat has not run the outbox sweep yet"

        worker = worker_process(private_redis.url, beat=True, sweep_seconds=1.0)
        try:
            healthy = _wait_for(lambda: _health(client)[0] == 200)
            assert healthy, _health(client)
            body = _health(client)[1]
            assert body["Worker"] == body["BeatHeartbeat"] == body["QueueDepth"] == body["OutboxBacklog"] == "OK"
        finally:
            kill_worker(worker)

        status, body = _health(client)
        assert status == 500
        assert body["Worker"] == "Unavailable: No Celery worker answers"
        assert body["RedisPing"] == "OK"


@pytest.mark.django_db(transaction=True)
def test_an_overdue_outbox_backlog_is_unhealthy(client, settings):
    settings.HEALTH_OUTBOX_MAX = 2
    from datetime import timedelta

    from django.utils import timezone

    old = timezone.now() - timedelta(minutes=5)
    OutboxJob.objects.bulk_create(
        [OutboxJob(task_name="leads.tasks.process_lead_task", args=[n], due_at=old) for n in range(3)]
    )
    status, body = _health(client)
    assert body["OutboxBacklog"] == "Unavailable: More than 2 jobs are overdue in the outbox"
    assert status == 500


@pytest.mark.django_db(transaction=True)
def test_a_captures_request_id_follows_the_lead_into_the_worker(api_as, manager, private_redis, tmp_path):
    """An operator greps one id and sees the capture in the web log and its processing in the worker's."""
    trace = uuid.uuid4().hex
    response = api_as(manager).post(
        "/api/v1/capture",
        {"email": "traced@example.com", "first_name": "Tracy"},
        format="json",
        HTTP_CORRELATION_ID=trace,
    )
    assert response.status_code in (200, 201), response.content
    assert response["Correlation-ID"] == trace
    job = OutboxJob.objects.get(task_name="leads.tasks.process_lead_task")
    assert job.trace_id == trace

    log = tmp_path / "worker.log"
    with log.open("wb") as sink:
        worker = worker_process(private_redis.url, beat=False, log_level="INFO", stderr=sink)
        try:
            assert _wait_for(lambda: not OutboxJob.objects.filter(pk=job.pk).exists()), log.read_text()
        finally:
            kill_worker(worker)
    lead_id = response.json()["lead"]
    traced = [line for line in log.read_text().splitlines() if trace in line]
    started = [line for line in traced if "leads.tasks.process_lead_task" in line and "started" in line]
    assert started and f"({lead_id},)" in started[0], log.read_text()[-3000:]
