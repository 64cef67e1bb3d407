"""Managers work leads in Django admin: filters, search and the two bulk actions."""

import pytest

from leads.models import Interaction, Lead
from tests.factories import InteractionFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_as(client, manager):
    client.force_login(manager)
    return client


def test_the_changelist_filters_and_searches(admin_client_as, rep):
    LeadFactory(status="active", owner=rep, company="Soylent")
    LeadFactory(status="new", company="Acme")
    response = admin_client_as.get("/admin/leads/lead/", {"status__exact": "active", "q": "soylent"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    for filter_name in ("status", "source", "owner", "grade", "created"):
        assert filter_name in response.content.decode().lower()


def test_a_lead_page_shows_its_interactions_inline(admin_client_as):
    lead = LeadFactory()
    InteractionFactory(lead=lead, kind="note", subject="Inline note")
    response = admin_client_as.get(f"/admin/leads/lead/{lead.id}/change/")
    assert response.status_code == 200 and b"Inline note" in response.content


def test_bulk_assign_asks_for_the_owner_then_assigns(admin_client_as, rep):
    leads = LeadFactory.create_batch(3)
    selected = [str(lead.id) for lead in leads]
    ask = admin_client_as.post("/admin/leads/lead/", {"action": "assign_owner", "_selected_action": selected})
    assert ask.status_code == 200 and b"Assign an owner" in ask.content
    done = admin_client_as.post(
        "/admin/leads/lead/", {"action": "assign_owner", "_selected_action": selected, "owner": rep.id, "apply": "1"}
    )
    assert done.status_code == 302
    assert set(Lead.objects.filter(owner=rep).values_list("id", flat=True)) == {lead.id for lead in leads}
    assert Interaction.objects.filter(kind="assignment", lead__in=leads).count() == 3


def test_bulk_status_requires_a_reason_for_lost(admin_client_as):
    leads = LeadFactory.create_batch(2, status="active")
    selected = [str(lead.id) for lead in leads]
    refused = admin_client_as.post(
        "/admin/leads/lead/", {"action": "change_status", "_selected_action": selected, "status": "lost", "apply": "1"}
    )
    assert refused.status_code == 200 and b"A lost lead needs a lost reason." in refused.content
    assert not Lead.objects.filter(status="lost").exists()
    done = admin_client_as.post(
        "/admin/leads/lead/",
        {
            "action": "change_status",
            "_selected_action": selected,
            "status": "lost",
            "lost_reason": "No budget",
            "apply": "1",
        },
    )
    assert done.status_code == 302
    assert Lead.objects.filter(status="lost", lost_reason="No budget").count() == 2
    assert Interaction.objects.filter(kind="status_change").count() == 2


def test_reps_cannot_use_admin(client, rep):
    client.force_login(rep)
    response = client.get("/admin/leads/lead/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
