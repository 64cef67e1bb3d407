"""Chaos: leads captured while the broker is down and the worker is SIGKILLed are all processed,
and every assignment email is sent exactly once (real worker and beat processes, a private
redis-server that is killed and restarted empty, an SMTP server)."""

import time

import pytest
from django.conf import settings
from django.db.models import Count

from leads import jobs
from leads.capture.service import CaptureContext, capture
from leads.models import Lead, Notification, OutboxJob
from tests.helpers import wait_for

from .broker import kill_worker, private_redis, worker_process  # noqa: F401 (a fixture)
from .distribution.conftest import make_team, territory
from .nurturing.smtp import smtp_inbox  # noqa: F401 (a fixture)

BEFORE, DURING = 12, 18


def _capture(prefix: str, count: int) -> None:
    for number in range(count):
        capture(
            data={"email": f"{prefix}{number}@chaos.example", "first_name": f"{prefix}{number}"},
            context=CaptureContext(channel="api"),
        )


@pytest.mark.django_db(transaction=True)
def test_captures_through_a_broker_outage_and_a_killed_worker_are_processed_and_notified_once(
    private_redis, smtp_inbox
):
    """The chaos run lost 46 of 2,000 assignment emails: a publish that failed during the outage
    was "left for the sweeper", and the sweeper never resent notification tasks."""
    team, reps = make_team("Chaos", "chaos_rep1", "chaos_rep2")
    territory("Everywhere", team, catch_all=True)
    worker = worker_process(private_redis.url, beat=True, email_port=settings.EMAIL_PORT)
    try:
        _capture("before", BEFORE)
        jobs.publisher_flush()
        # The worker is SIGKILLed mid-stream (some jobs claimed, some prefetched, some queued) …
        wait_for(lambda: Lead.objects.filter(processed_at__isnull=False).exists(), timeout=30)
        kill_worker(worker)
        # … and the broker dies too, with whatever was still queued: captures go on meanwhile.
        private_redis.stop()
        _capture("during", DURING)
        jobs.publisher_flush()
        assert Lead.objects.count() == BEFORE + DURING  # every capture answered and was stored
        time.sleep(1)
        private_redis.start()  # back, empty: nothing queued survived
        recovered = time.monotonic()
        worker = worker_process(private_redis.url, beat=True, email_port=settings.EMAIL_PORT)
        assert wait_for(lambda: not Lead.objects.filter(processed_at__isnull=True).exists(), timeout=90), (
            f"{Lead.objects.filter(processed_at__isnull=True).count()} leads never processed"
        )
        total = BEFORE + DURING
        assert wait_for(lambda: len(smtp_inbox.messages) >= total, timeout=60), (
            f"{len(smtp_inbox.messages)} of {total} emails"
        )
        assert wait_for(lambda: not OutboxJob.objects.exists(), timeout=30), list(OutboxJob.objects.values())
        time.sleep(5)  # let a duplicate show itself if there is one
        processed_within = time.monotonic() - recovered
    finally:
        kill_worker(worker)
    assert Notification.objects.filter(kind="assigned").count() == total
    assert not Notification.objects.filter(kind="assigned", emailed_at__isnull=True).exists()
    assert len(smtp_inbox.messages) == total, "an assignment email was sent twice"
    per_lead = Notification.objects.values("lead").annotate(n=Count("pk")).filter(n__gt=1)
    assert not per_lead.exists()
    assert Lead.objects.filter(owner__in=reps).count() == total
    assert processed_within < 90
