"""The triggers: which events start which automations (decided from the event, with no query)."""

import pytest

from leads.automations.reactions import (
    automations_forget,
    enabled_automations,
    on_email_bounced,
    on_lead_created,
    on_lead_updated,
    on_status_changed,
    on_timeline_entry,
)
from leads.events import Event
from tests.factories import AutomationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded():
    def load():
        automations_forget()
        enabled_automations()

    return load


def test_each_trigger_matches_its_parameters(loaded, django_capture_on_commit_callbacks, django_assert_num_queries):
    pricing = AutomationFactory(trigger="page_visited", trigger_params={"url": "*/pricing*"})
    AutomationFactory(trigger="field_changed", trigger_params={"field": "industry", "to": "Software"})
    AutomationFactory(trigger="status_changed", trigger_params={"from": "new", "to": "active"})
    AutomationFactory(trigger="qualified")
    AutomationFactory(trigger="lead_created")
    AutomationFactory(trigger="form_submitted", trigger_params={"form": "demo"})
    AutomationFactory(trigger="email_bounced")
    AutomationFactory(trigger="page_visited", enabled=False)
    loaded()
    cases = [
        (
            on_timeline_entry,
            Event("timeline.added", (1,), kind="page_view", data={"url": "https://x.example/pricing/team"}),
            1,
        ),
        (on_timeline_entry, Event("timeline.added", (1,), kind="page_view", data={"url": "https://x.example/blog"}), 0),
        (on_timeline_entry, Event("timeline.added", (1,), kind="note"), 0),
        (
            on_lead_updated,
            Event("lead.updated", (1,), data={"fields": {"industry": {"from": "", "to": "Software"}}}),
            1,
        ),
        (on_lead_updated, Event("lead.updated", (1,), data={"fields": {"industry": {"from": "", "to": "Retail"}}}), 0),
        (on_status_changed, Event("lead.status_changed", (1,), data={"from": "new", "to": "active"}), 1),
        (on_status_changed, Event("lead.status_changed", (1, 2), data={"to": "active"}), 0),  # bulk: no "from"
        (on_status_changed, Event("lead.status_changed", (1,), data={"from": "active", "to": "qualified"}), 1),
        (on_lead_created, Event("lead.created", (1,), kind="form_submit", data={"form": "demo"}), 1),
        (
            on_email_bounced,
            Event("lead.email_bounced", (1,), kind="event", data={"email": "a@b.example", "complaint": False}),
            1,
        ),
    ]
    for reaction, event, tasks in cases:
        # Deciding costs no query; each task to start is one outbox row (leads.jobs), sent after commit.
        with django_capture_on_commit_callbacks(execute=False) as callbacks, django_assert_num_queries(tasks):
            reaction(event)
        assert len(callbacks) == tasks, (reaction.__name__, event)
    assert pricing.pk in [pk for pk, _ in enabled_automations()["page_visited"]]
    assert len(enabled_automations()["page_visited"]) == 1  # the disabled one is not loaded


def test_a_large_event_is_split_into_batches(loaded, django_capture_on_commit_callbacks):
    AutomationFactory(trigger="assigned")
    AutomationFactory(trigger="assigned")
    loaded()
    from leads.automations.reactions import on_assigned

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        on_assigned(Event("lead.assigned", tuple(range(1, 1202))))
    assert len(callbacks) == 3  # 1,201 leads: three tasks of up to 500, both automations in each
