"""The automation pages: managers build, enable/disable, read runs and dry-run; the lead list runs one."""

import pytest
from django.urls import reverse

from leads.automations import definition
from leads.automations.services import NAME_REQUIRED, automations_start
from leads.models import Automation, AutomationRun
from leads.views.automations import LEAD_NOT_FOUND
from tests.factories import AutomationFactory, LeadFactory

pytestmark = pytest.mark.django_db


def _post(**extra):
    data = {
        "name": "Hot inbound",
        "description": "Call hot leads fast",
        "enabled": "on",
        "trigger": "lead_created",
        "p-source": "web_form",
        "r-match": "all",
        "node": ["r.0"],
        "r.0-type": "cond",
        "r.0-field": "score",
        "r.0-op": "gte",
        "r.0-value": "70",
        "arow": ["0", "1"],
        "a-0-type": "add_tags",
        "a-0-value": "hot, inbound",
        "a-1-type": "create_task",
        "a-1-title": "Call now",
        "a-1-amount": "15",
        "a-1-unit": "minutes",
        "action": "save",
    }
    data.update(extra)
    return data


def test_a_manager_builds_an_automation(client, manager):
    client.force_login(manager)
    assert client.get(reverse("leads:automation_create")).status_code == 200
    response = client.post(reverse("leads:automation_create"), _post())
    automation = Automation.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "leads:automation_detail", args=[automation.pk]
    )
    assert automation.enabled and automation.trigger_params == {"source": "web_form"}
    assert automation.conditions == {"match": "all", "conditions": [{"field": "score", "op": "gte", "value": 70}]}
    assert automation.actions == [
        {"type": "add_tags", "tags": ["hot", "inbound"]},
        {"type": "create_task", "title": "Call now", "amount": 15, "unit": "minutes"},
    ]
    page = client.get(reverse("leads:automation_edit", args=[automation.pk])).content.decode()
    assert 'value="Call now"' in page


def test_the_builder_shows_errors_and_keeps_what_was_typed(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("leads:automation_create"), _post(name="", **{"a-1-title": "", "trigger": "inactive", "p-days": "0"})
    )
    assert response.status_code == 400
    page = response.content.decode()
    for message in (NAME_REQUIRED, definition.TITLE_REQUIRED, definition.DAYS_REQUIRED):
        assert message in page
    assert "hot, inbound" in page and not Automation.objects.exists()


def test_buttons_add_and_remove_rows_without_saving(client, manager):
    client.force_login(manager)
    page = client.post(reverse("leads:automation_create"), _post(action="addaction")).content.decode()
    assert page.count('data-testid="action-row"') == 3
    page = client.post(reverse("leads:automation_create"), _post(action="removeaction:0")).content.decode()
    assert page.count('data-testid="action-row"') == 1
    page = client.post(reverse("leads:automation_create"), _post(action="add:r")).content.decode()
    assert 'name="r.1-field"' in page
    assert not Automation.objects.exists()


def test_reps_and_marketers_may_not(client, rep, marketer):
    automation = AutomationFactory()
    for user in (rep, marketer):
        client.force_login(user)
        assert client.get(reverse("leads:automation_list")).status_code == 403
        assert client.get(reverse("leads:automation_detail", args=[automation.pk])).status_code == 403
        assert (
            client.post(reverse("leads:automation_toggle", args=[automation.pk]), {"enabled": "0"}).status_code == 403
        )


def test_the_page_shows_runs_and_a_dry_run(client, manager):
    lead = LeadFactory(email="dry@example.com", score=80)
    automation = AutomationFactory(name="Tagger", actions=[{"type": "add_tags", "tags": ["seen"]}])
    automations_start(
        automation_ids=[automation.pk], lead_ids=[lead.pk], trigger_event="manual", trigger_key="x", depth=1
    )
    client.force_login(manager)
    page = client.get(
        reverse("leads:automation_detail", args=[automation.pk]), {"lead": "dry@example.com"}
    ).content.decode()
    assert "added tags seen" in page  # the run's step
    assert "1. would add tags: seen" in page  # the dry run
    page = client.get(
        reverse("leads:automation_detail", args=[automation.pk]), {"lead": "nobody@example.com"}
    ).content.decode()
    assert LEAD_NOT_FOUND in page
    assert "Tagger" in client.get(reverse("leads:automation_list")).content.decode()


def test_disabling_from_the_page_cancels_waiting_runs(client, manager):
    lead = LeadFactory()
    automation = AutomationFactory(
        actions=[{"type": "wait", "amount": 1, "unit": "days"}, {"type": "add_tags", "tags": ["x"]}]
    )
    automations_start(
        automation_ids=[automation.pk], lead_ids=[lead.pk], trigger_event="manual", trigger_key="x", depth=1
    )
    client.force_login(manager)
    client.post(reverse("leads:automation_toggle", args=[automation.pk]), {"enabled": "0"})
    assert AutomationRun.objects.get().status == "cancelled"
    automation.refresh_from_db()
    assert not automation.enabled


def test_the_lead_list_runs_an_automation_on_ticked_leads(client, manager, django_capture_on_commit_callbacks):
    leads = LeadFactory.create_batch(3)
    automation = AutomationFactory(name="By hand")
    client.force_login(manager)
    assert "Run an automation" in client.get(reverse("leads:list")).content.decode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("leads:list_bulk"),
            {"action": "automation", "automation": automation.pk, "ids": [lead.pk for lead in leads]},
        )
    assert response.status_code == 302
    assert len(callbacks) == 1  # one task for the batch, after the commit


def test_the_builder_takes_the_new_triggers_and_actions(client, manager):
    """Score/grade thresholds, a weekday wait, an email template, territory and conversion, all as form fields."""
    client.force_login(manager)
    redrawn = client.post(
        reverse("leads:automation_create"), _post(trigger="score_crossed", action="update")
    ).content.decode()
    for name in ("p-measure", "p-direction", "p-value"):
        assert f'name="{name}"' in redrawn
    response = client.post(
        reverse("leads:automation_create"),
        _post(
            **{
                "trigger": "score_crossed",
                "p-measure": "grade",
                "p-direction": "down",
                "p-value": "b",
                "arow": ["0", "1", "2", "3"],
                "a-0-type": "wait_until",
                "a-0-weekday": "1",
                "a-0-time": "10:00",
                "a-1-type": "send_email",
                "a-1-subject": "Still there, {{ lead.first_name }}?",
                "a-1-body": "Hi {{ lead.first_name }}",
                "a-2-type": "assign_territory",
                "a-3-type": "convert",
            }
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    automation = Automation.objects.get()
    assert automation.trigger_params == {"measure": "grade", "direction": "down", "value": "B"}
    assert [action["type"] for action in automation.actions] == [
        "wait_until",
        "send_email",
        "assign_territory",
        "convert",
    ]
    page = client.get(reverse("leads:automation_detail", args=[automation.pk])).content.decode()
    assert "wait until Tuesday 10:00 in the lead&#x27;s time zone" in page
    edit = client.get(reverse("leads:automation_edit", args=[automation.pk])).content.decode()
    assert "<textarea" in edit and "Hi {{ lead.first_name }}" in edit
