"""Working a customer (issue 19 §3): edit its fields, notes, tasks and calls on its page, written
through the leads' services on its primary lead so its one merged timeline shows them; reps their
own customers, marketers read only."""

import pytest

from customers.models import Customer
from customers.services import lead_convert
from customers.work import NO_PRIMARY_LEAD
from leads.common.normalize import INVALID_PHONE
from leads.models import Interaction, Task
from leads.workspace.followups import OUTCOME_REQUIRED
from tests.factories import CustomerFactory, LeadFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(rep, team):
    lead = LeadFactory(owner=rep, team=team, email="ada@engines.example", company="Engines")
    return lead_convert(lead=lead, by=rep, action="create").customer


def test_a_rep_adds_a_note_to_their_customer_and_it_is_on_the_one_timeline(client, rep, customer):
    client.force_login(rep)
    response = client.post(
        f"/customers/{customer.pk}/notes", {"kind": "note", "subject": "Renewal", "body": "Wants 20 seats"}
    )
    assert response.status_code == 302 and response["Location"] == f"/customers/{customer.pk}"
    note = Interaction.objects.get(kind=Interaction.Kind.NOTE)
    assert note.lead_id == customer.lead_id and note.actor == rep and note.body == "Wants 20 seats"
    body = client.get(f"/customers/{customer.pk}").content.decode()
    assert "Wants 20 seats" in body.split('data-testid="timeline"')[1]


def test_a_task_on_the_customer_goes_to_its_owner_and_can_be_done(client, manager, rep, customer):
    client.force_login(manager)
    response = client.post(
        f"/customers/{customer.pk}/tasks", {"title": "Send the contract", "due_at": "2030-01-02T10:00"}
    )
    assert response.status_code == 302
    task = Task.objects.get(title="Send the contract")
    assert task.lead_id == customer.lead_id and task.assigned_to == rep  # the customer's owner
    body = client.get(f"/customers/{customer.pk}").content.decode()
    assert "Send the contract" in body.split('data-testid="customer-open-tasks"')[1].split("</ul>")[0]
    assert client.post(f"/customers/{customer.pk}/tasks/{task.pk}/done").status_code == 302
    task.refresh_from_db()
    assert task.done_at is not None
    assert Interaction.objects.filter(
        kind=Interaction.Kind.TASK, data__action="done", lead_id=customer.lead_id
    ).exists()


def test_a_task_of_another_customer_is_a_404(client, rep, customer, team):
    other_lead = LeadFactory(owner=rep, team=team)
    other = lead_convert(lead=other_lead, by=rep, action="create").customer
    task = TaskFactory(lead=other_lead, title="Elsewhere")
    client.force_login(rep)
    assert client.post(f"/customers/{customer.pk}/tasks/{task.pk}/done").status_code == 404
    assert client.post(f"/customers/{other.pk}/tasks/{task.pk}/done").status_code == 302


def test_a_call_is_logged_with_the_leads_service_and_checked_like_it(client, rep, customer):
    client.force_login(rep)
    response = client.post(f"/customers/{customer.pk}/calls", {"outcome": ""})
    assert response.status_code == 400 and OUTCOME_REQUIRED in response.content.decode()
    assert client.post(f"/customers/{customer.pk}/calls", {"outcome": "connected", "notes": "Happy"}).status_code == 302
    call = Interaction.objects.get(kind=Interaction.Kind.CALL_OUT)
    assert call.lead_id == customer.lead_id and call.data["outcome"] == "connected" and call.body == "Happy"


def test_editing_the_fields_normalises_them_and_notes_the_change(client, rep, customer):
    client.force_login(rep)
    assert client.get(f"/customers/{customer.pk}/edit").status_code == 200
    data = {
        "name": customer.name,
        "company": "Analytical Engines",
        "email": "ADA@Engines.Example",
        "phone": "+44 20 7946 0958",
        "job_title": "CTO",
        "website": "",
        "country": "GB",
        "city": "London",
        "industry": "",
        "domain": "engines.example",
    }
    assert client.post(f"/customers/{customer.pk}/edit", data).status_code == 302
    customer.refresh_from_db()
    assert (customer.company, customer.email, customer.phone, customer.job_title) == (
        "Analytical Engines",
        "ada@engines.example",
        "+442079460958",
        "CTO",
    )
    entry = Interaction.objects.get(kind=Interaction.Kind.UPDATE, data__customer=customer.pk)
    assert entry.data["fields"]["company"] == {"from": "Engines", "to": "Analytical Engines"}
    response = client.post(f"/customers/{customer.pk}/edit", {**data, "phone": "12"})
    assert response.status_code == 400 and INVALID_PHONE in response.content.decode()
    response = client.post(f"/customers/{customer.pk}/edit", {**data, "owner": ""})
    customer.refresh_from_db()
    assert customer.owner == rep  # a rep's form has no owner field


def test_reps_work_only_their_own_customers_and_marketers_only_read(client, rep, other_rep, marketer, customer):
    client.force_login(other_rep)
    for url in ("", "/edit"):
        assert client.get(f"/customers/{customer.pk}{url}").status_code == 404
    assert client.post(f"/customers/{customer.pk}/notes", {"kind": "note", "body": "x"}).status_code == 404
    client.force_login(marketer)
    body = client.get(f"/customers/{customer.pk}").content.decode()
    assert 'data-testid="customer-note-form"' not in body and 'data-testid="customer-edit"' not in body
    assert client.post(f"/customers/{customer.pk}/notes", {"kind": "note", "body": "x"}).status_code == 403
    assert client.get(f"/customers/{customer.pk}/edit").status_code == 403
    assert not Interaction.objects.filter(kind=Interaction.Kind.NOTE).exists()


def test_a_customer_without_a_lead_is_edited_but_has_no_timeline_to_write_on(client, manager):
    bare = CustomerFactory(owner=manager, name="Bare Ltd")
    client.force_login(manager)
    body = client.get(f"/customers/{bare.pk}").content.decode()
    assert NO_PRIMARY_LEAD in body
    response = client.post(f"/customers/{bare.pk}/notes", {"kind": "note", "body": "x"})
    assert response.status_code == 400 and NO_PRIMARY_LEAD in response.content.decode()
    assert client.post(f"/customers/{bare.pk}/tasks", {"title": "x"}).status_code == 400
    assert client.post(f"/customers/{bare.pk}/calls", {"outcome": "connected"}).status_code == 400
    data = {
        "name": "Bare Limited",
        "company": "",
        "email": "",
        "phone": "",
        "job_title": "",
        "website": "",
        "country": "",
        "city": "",
        "industry": "",
        "domain": "",
        "owner": manager.pk,
    }
    assert client.post(f"/customers/{bare.pk}/edit", data).status_code == 302
    assert Customer.objects.get(pk=bare.pk).name == "Bare Limited"


def test_a_linked_customer_writes_on_the_first_converted_lead(client, manager, rep, team):
    bare = CustomerFactory(owner=rep, name="Linked Ltd")
    first = LeadFactory(owner=rep, team=team)
    lead_convert(lead=first, by=rep, action="link", customer=bare.pk)
    client.force_login(rep)
    assert client.post(f"/customers/{bare.pk}/notes", {"kind": "note", "body": "on the first lead"}).status_code == 302
    assert Interaction.objects.get(kind=Interaction.Kind.NOTE).lead_id == first.pk
