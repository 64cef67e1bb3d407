"""Customers: the same API shape and visibility as leads; the page shows the lead's history."""

import pytest

from leads.models import Interaction
from tests.factories import CustomerFactory, InteractionFactory, LeadFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers"


def test_reps_see_their_own_customers_only(api_as, rep, other_rep):
    mine = CustomerFactory(owner=rep)
    theirs = CustomerFactory(owner=other_rep)
    client = api_as(rep)
    assert [row["id"] for row in client.get(URL).json()["results"]] == [mine.id]
    assert client.get(f"{URL}/{theirs.id}").status_code == 404


def test_managers_and_marketers_see_all(api_as, manager, marketer, rep):
    CustomerFactory.create_batch(3, owner=rep)
    assert api_as(manager).get(URL).json()["count"] == 3
    assert api_as(marketer).get(URL).json()["count"] == 3


def test_search_and_owner_filters(api_as, manager, rep):
    hit = CustomerFactory(company="Cyberdyne Systems", owner=rep)
    CustomerFactory(company="Tyrell Corp")
    client = api_as(manager)
    assert [r["id"] for r in client.get(URL, {"search": "cyberdyne"}).json()["results"]] == [hit.id]
    assert [r["id"] for r in client.get(URL, {"owner": "rep1"}).json()["results"]] == [hit.id]
    assert client.get(URL, {"ordering": "nonsense"}).status_code == 400


def test_only_managers_edit_customers(api_as, manager, rep):
    customer = CustomerFactory(owner=rep)
    assert api_as(rep).patch(f"{URL}/{customer.id}", {"company": "X"}, format="json").status_code == 403
    response = api_as(manager).patch(
        f"{URL}/{customer.id}", {"company": "X", "phone": "+1 212 555 2368"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["phone"] == "+12125552368"
    assert api_as(manager).post(URL, {"name": "New Co", "email": "BAD"}, format="json").status_code == 400


def test_customer_timeline_is_the_leads_history(api_as, client, manager):
    lead = LeadFactory()
    InteractionFactory(lead=lead, kind=Interaction.Kind.CALL_OUT, subject="Closing call")
    customer = CustomerFactory(lead=lead, owner=manager)
    body = api_as(manager).get(f"{URL}/{customer.id}/interactions").json()
    assert [row["subject"] for row in body["results"]] == ["Closing call"]
    client.force_login(manager)
    page = client.get(f"/customers/{customer.id}")
    assert page.status_code == 200 and b"Closing call" in page.content


def test_customer_pages(client, rep, other_rep):
    mine = CustomerFactory(owner=rep, name="Mine Customer")
    theirs = CustomerFactory(owner=other_rep, name="Their Customer")
    client.force_login(rep)
    listing = client.get("/customers/")
    assert b"Mine Customer" in listing.content and b"Their Customer" not in listing.content
    assert client.get(f"/customers/{theirs.id}").status_code == 404
    assert client.get(f"/customers/{mine.id}").status_code == 200
