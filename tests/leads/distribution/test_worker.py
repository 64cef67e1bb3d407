"""Through the real Celery worker: a lead from the public web form is owned by the right rep
within seconds, and the rep gets the email; the admin action and the beat tasks run there too."""

import time

import pytest
from django.core import signing
from django.core.cache import cache

from leads.capture.webforms import _SALT, TIMESTAMP_FIELD
from leads.distribution.tasks import drain_queues_task, sla_reassign_task
from leads.models import Assignment, Lead
from tests.factories import LeadFactory, WebFormFactory

from .conftest import agent, make_team, territory


def wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def sales_map(transactional_db):
    uk, (uk_rep1, uk_rep2) = make_team("UK", "uk_rep1", "uk_rep2")
    rest, (other_rep,) = make_team("Rest of world", "other_rep")
    territory("UK & Ireland", uk, country=["GB", "IE"], priority=10)
    territory("Everywhere else", rest, catch_all=True)
    agent(uk_rep1, out_of_office_from=None, is_active=False)  # uk_rep2 is the one available
    return uk, uk_rep2


@pytest.mark.django_db(transaction=True)
def test_a_web_form_lead_reaches_the_right_rep_through_the_worker(client, sales_map, celery_worker_live, mailoutbox):
    uk, uk_rep2 = sales_map
    cache.clear()  # the form's rate-limit counters
    WebFormFactory(
        name="Contact us",
        key="contact",
        fields=["first_name", "last_name", "email", "company", "country"],
        required_fields=["email"],
        rate_limit="100/m",
        min_fill_seconds=0,
    )
    stamp = signing.dumps({"k": "contact", "t": time.time() - 10}, salt=_SALT, compress=True)
    response = client.post(
        "/f/contact",
        {
            "first_name": "Tim",
            "last_name": "Berners-Lee",
            "email": "tim@w3.example",
            "company": "W3",
            "country": "GB",
            TIMESTAMP_FIELD: stamp,
        },
    )
    assert response.status_code == 200
    lead = Lead.objects.get(email="tim@w3.example")

    assert wait_for(lambda: Lead.objects.get(pk=lead.pk).owner_id is not None), "the worker never assigned the lead"
    lead.refresh_from_db()
    assert (lead.owner, lead.team) == (uk_rep2, uk)
    assert lead.interactions.get(kind="assignment").data["reason"] == (
        "territory UK & Ireland → team UK → uk_rep2 (round robin, 1 skipped: inactive)"
    )
    assert wait_for(lambda: Lead.objects.get(pk=lead.pk).processed_at is not None), "the pipeline did not finish"
    assert wait_for(lambda: len(mailoutbox) == 1), "the new owner was not emailed"
    assert mailoutbox[0].to == ["uk_rep2@example.com"]
    assert "Tim Berners-Lee (W3)" in mailoutbox[0].subject


@pytest.mark.django_db(transaction=True)
def test_assign_now_in_admin_runs_on_the_worker(client, sales_map, boss, celery_worker_live):
    uk, uk_rep2 = sales_map
    leads = LeadFactory.create_batch(3, country="IE")
    owned = LeadFactory(country="IE", owner=boss)
    client.force_login(boss)
    response = client.post(
        "/admin/leads/lead/", {"action": "assign_now", "_selected_action": [lead.pk for lead in [*leads, owned]]}
    )
    assert response.status_code == 302
    assert wait_for(lambda: Lead.objects.filter(owner=uk_rep2).count() == 3)
    assert Lead.objects.get(pk=owned.pk).owner == boss


@pytest.mark.django_db(transaction=True)
def test_the_beat_tasks_are_registered_and_run(sales_map, celery_worker_live, settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["drain-assignment-queues"]["task"] == "leads.distribution.tasks.drain_queues_task"
    assert schedule["sla-reassign-overdue"]["task"] == "leads.distribution.tasks.sla_reassign_task"
    assert schedule["drain-assignment-queues"]["schedule"] == schedule["sla-reassign-overdue"]["schedule"] == 60.0
    uk, uk_rep2 = sales_map
    agent(uk_rep2, is_active=False)
    waiting = LeadFactory(country="GB", team=uk)
    assert drain_queues_task.delay() is not None
    assert wait_for(lambda: Lead.objects.get(pk=waiting.pk).interactions.filter(kind="assignment").exists())
    assert Lead.objects.get(pk=waiting.pk).owner is None  # nobody yet: it waits
    agent(uk_rep2, is_active=True)
    drain_queues_task.delay()
    assert wait_for(lambda: Lead.objects.get(pk=waiting.pk).owner_id == uk_rep2.pk)
    assert Assignment.objects.get(lead=waiting).reason == "queue"
    assert sla_reassign_task() == 0  # nothing overdue
