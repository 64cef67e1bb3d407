"""Customers after conversion: the list (search and filters), a customer's page (copied fields,
linked leads, their merged timeline) and the API, with flat query counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.services import lead_convert
from leads.models import Interaction
from tests.factories import CustomerFactory, InteractionFactory, LeadFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/customers"


def _converted(owner, *, email, n_interactions=1, link_to=None, **fields):
    """A lead with some history, converted (created, or linked to `link_to`)."""
    lead = LeadFactory(owner=owner, email=email, **fields)
    for i in range(n_interactions):
        InteractionFactory(lead=lead, kind=Interaction.Kind.CALL_OUT, subject=f"{email} call {i}")
    action = "link" if link_to else "create"
    return lead, lead_convert(lead=lead, by=owner, action=action, customer=link_to).customer


def test_the_customer_page_shows_the_copied_fields_every_linked_lead_and_their_merged_timeline(client, rep):
    first, customer = _converted(
        rep,
        email="ada@engines.co.uk",
        company="Analytical Engines",
        job_title="CTO",
        country="GB",
        city="London",
        industry="Computing",
        attributes={"tier": "gold"},
    )
    second, _ = _converted(rep, email="charles@engines.co.uk", link_to=customer.pk)
    client.force_login(rep)
    body = client.get(f"/customers/{customer.pk}").content.decode()
    for text in ("Analytical Engines", "engines.co.uk", "CTO", "London", "United Kingdom", "Computing", "gold"):
        assert text in body
    linked = body.split('data-testid="linked-leads"')[1].split("</ul>")[0]
    assert str(first) in linked and str(second) in linked and "first lead" in linked
    assert "ada@engines.co.uk call 0" in body and "charles@engines.co.uk call 0" in body  # both leads' history
    assert body.count("Converted to customer") == 2


def test_the_list_searches_and_filters_like_leads(client, manager, rep):
    hit = CustomerFactory(name="Cyberdyne", company="Cyberdyne Systems", owner=rep, country="US", industry="Robotics")
    CustomerFactory(name="Tyrell", company="Tyrell Corp", owner=manager, country="US", industry="Biotech")
    old = CustomerFactory(name="Weyland", company="Weyland", owner=rep, country="GB", industry="Robotics")
    old.created_at = timezone.now() - timedelta(days=400)
    old.save()
    client.force_login(manager)

    def names(**query):
        response = client.get("/customers/", query)
        assert response.status_code == 200
        return [c.name for c in response.context["page"].object_list]

    assert names(search="cyberdyne") == ["Cyberdyne"]
    assert names(owner="rep1", ordering="name") == ["Cyberdyne", "Weyland"]
    assert names(country="US", industry="robotics") == ["Cyberdyne"]
    assert names(created_before=(timezone.now() - timedelta(days=30)).isoformat()) == ["Weyland"]
    assert names(ordering="-name") == ["Weyland", "Tyrell", "Cyberdyne"]
    bad = client.get("/customers/", {"country": "XX"})
    assert bad.status_code == 400 and b"Check the filters" in bad.content
    assert hit.pk


def test_reps_see_only_their_customers_pages(client, rep, other_rep):
    _, theirs = _converted(other_rep, email="x@theirs.co.uk")
    client.force_login(rep)
    assert client.get(f"/customers/{theirs.pk}").status_code == 404


def test_api_fields_filters_and_the_timeline_of_all_linked_leads(api_as, manager, rep):
    first, customer = _converted(rep, email="ada@engines.co.uk", country="GB", industry="Computing")
    second, _ = _converted(rep, email="charles@engines.co.uk", link_to=customer.pk)
    client = api_as(manager)
    row = client.get(f"{API}/{customer.pk}").json()
    assert (row["domain"], row["country"], row["industry"], row["converted_by"]) == (
        "engines.co.uk",
        "GB",
        "Computing",
        "rep1",
    )
    assert row["lead"] == first.pk and row["leads"] == [first.pk, second.pk]
    assert [r["id"] for r in client.get(API, {"country": "GB", "industry": "computing"}).json()["results"]] == [
        customer.pk
    ]
    assert client.get(API, {"country": "ZZ"}).status_code == 400
    timeline = client.get(f"{API}/{customer.pk}/interactions").json()["results"]
    assert {entry["lead"] for entry in timeline} == {first.pk, second.pk}
    assert {"ada@engines.co.uk call 0", "charles@engines.co.uk call 0"} <= {entry["subject"] for entry in timeline}


@pytest.mark.parametrize("n", [3, 30])
def test_the_customer_page_is_flat_for_3_and_30_leads(n, client, manager, rep, django_assert_num_queries):
    _, customer = _converted(rep, email="lead0@flat.co.uk", n_interactions=2)
    for i in range(1, n):
        _converted(rep, email=f"lead{i}@flat.co.uk", n_interactions=2, link_to=customer.pk)
    client.force_login(manager)
    client.get(f"/customers/{customer.pk}")
    # session, user with its roles, the customer (owner, lead, converted_by), its linked leads, timeline count and
    # page, its open tasks and the task form's assignees, and the email block (docs/reps.md): its lead
    # visible?, the lead's email entries, the rep's email preferences, templates and snippets, messages not sent yet
    with django_assert_num_queries(13):
        response = client.get(f"/customers/{customer.pk}")
    assert len(response.context["linked_leads"]) == n


@pytest.mark.parametrize("n", [3, 30])
def test_the_customer_list_is_flat(n, client, manager, django_assert_num_queries):
    for i in range(n):
        lead = LeadFactory(email=f"person@company{i}.co.uk")
        lead_convert(lead=lead, by=manager, action="create")
    client.force_login(manager)
    client.get("/customers/")
    # session, user with its roles, count, page, the page's linked leads
    with django_assert_num_queries(5):
        response = client.get("/customers/", {"page_size": 50})
    assert len(response.context["page"].object_list) == n


@pytest.mark.parametrize("n", [3, 30])
def test_the_api_timeline_of_a_customer_is_flat(n, api_as, manager, rep, django_assert_num_queries):
    _, customer = _converted(rep, email="lead0@api-flat.co.uk")
    for i in range(1, n):
        _converted(rep, email=f"lead{i}@api-flat.co.uk", link_to=customer.pk)
    client = api_as(manager)
    # token with the roles, the customer (with its linked leads), timeline count and page
    with django_assert_num_queries(5):
        response = client.get(f"{API}/{customer.pk}/interactions", {"page_size": 100})
    assert len({entry["lead"] for entry in response.json()["results"]}) == n
