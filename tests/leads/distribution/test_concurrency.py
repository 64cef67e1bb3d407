"""Two workers assigning at once never use the same turn twice and never skip one."""

import threading
import time
from collections import Counter

import pytest
from django.db import connection

from leads.distribution.service import lead_assign, leads_assign
from leads.models import Assignment, Interaction, Lead, Notification, RotationState

from .conftest import make_team, territory

THREADS = 16
LEADS = 5000
AGENTS = 10
CHUNK = 25


@pytest.mark.django_db(transaction=True)
def test_16_threads_assign_5000_leads_across_10_equal_agents_exactly_fairly(now):
    usernames = [f"agent{i:02d}" for i in range(AGENTS)]
    team, reps = make_team("Inside Sales", *usernames)
    territory("Everywhere", team, catch_all=True)
    Lead.objects.bulk_create(Lead(email=f"race{i}@example.com", source="web_form") for i in range(LEADS))
    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
    shares = [ids[i::THREADS] for i in range(THREADS)]  # interleaved: every thread races the others
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        try:
            start.wait()
            # Its own share, then its neighbour's again (a repeated delivery that races the neighbour).
            for share in (shares[index], shares[(index + 1) % THREADS]):
                for begin in range(0, len(share), CHUNK):
                    chunk = share[begin : begin + CHUNK]
                    if index % 4 == 0:  # one thread in four places lead by lead, as the pipeline does
                        for lead_id in chunk:
                            lead_assign(lead_id=lead_id, now=now)
                    else:  # the others in batches, as the admin action and the queue drain do
                        leads_assign(lead_ids=chunk, now=now)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert not errors, errors[0]

    assert Lead.objects.filter(owner__isnull=True).count() == 0
    assert Assignment.objects.count() == LEADS  # every lead assigned exactly once
    assert Assignment.objects.values("lead").distinct().count() == LEADS
    assert Interaction.objects.filter(kind="assignment").count() == LEADS
    assert Notification.objects.count() == LEADS
    per_agent = Counter(Lead.objects.values_list("owner__username", flat=True))
    assert sorted(per_agent) == usernames
    assert max(per_agent.values()) - min(per_agent.values()) <= 1
    assert set(per_agent.values()) == {LEADS // AGENTS}
    assert sum(RotationState.objects.values_list("assigned_total", flat=True)) == LEADS
    print(f"\n{LEADS} leads, {THREADS} threads: {elapsed:.1f}s ({LEADS / elapsed:.0f} leads/s)")
