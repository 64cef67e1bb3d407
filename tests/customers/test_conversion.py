"""Converting leads into customers (customers/services.py lead_convert, the API, bulk, the lead page)."""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from customers.models import Customer
from customers.services import (
    CONVERT_FORBIDDEN,
    CUSTOMER_UNKNOWN,
    LEAD_IS_LOST,
    Outcome,
    company_domain,
    lead_convert,
    leads_bulk_convert,
)
from leads.models import Enrollment, Interaction, Lead
from tests.factories import (
    CustomerFactory,
    EnrollmentFactory,
    InteractionFactory,
    LeadFactory,
    ManagerFactory,
    RepFactory,
    SequenceFactory,
)

pytestmark = pytest.mark.django_db


def _lead(**fields):
    defaults = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@analytical.co.uk",
        "company": "Analytical Engines",
        "job_title": "CTO",
        "phone": "+442079460958",
        "website": "https://analytical.co.uk",
        "country": "GB",
        "city": "London",
        "industry": "Computing",
        "attributes": {"plan": "enterprise"},
    }
    if "email" in fields:
        defaults["website"] = ""  # another company: no shared website domain
    return LeadFactory(**{**defaults, **fields})


def test_a_new_customer_copies_the_leads_fields_and_the_lead_is_converted(rep):
    lead = _lead(owner=rep)
    result = lead_convert(lead=lead, by=rep)
    customer = result.customer
    assert result.outcome == Outcome.CREATED
    assert (customer.name, customer.company, customer.email, customer.phone) == (
        "Ada Lovelace",
        "Analytical Engines",
        "ada@analytical.co.uk",
        "+442079460958",
    )
    assert (
        customer.domain,
        customer.job_title,
        customer.website,
        customer.country.code,
        customer.city,
        customer.industry,
    ) == (
        "analytical.co.uk",
        "CTO",
        "https://analytical.co.uk",
        "GB",
        "London",
        "Computing",
    )
    assert customer.attributes == {"plan": "enterprise"}
    assert (customer.owner, customer.converted_by, customer.lead) == (rep, rep, lead)
    lead.refresh_from_db()
    assert (lead.status, lead.converted_customer, lead.converted_by) == (Lead.Status.CONVERTED, customer, rep)
    assert lead.converted_at is not None and lead.status_locked
    entry = lead.interactions.get(kind=Interaction.Kind.CONVERTED)
    assert entry.data["customer"] == customer.pk and entry.actor == rep


def test_converting_twice_returns_the_same_customer(rep):
    lead = _lead(owner=rep)
    first = lead_convert(lead=lead, by=rep)
    again = lead_convert(lead=Lead.objects.get(pk=lead.pk), by=rep, action="create")
    assert again.outcome == Outcome.ALREADY and again.customer == first.customer
    assert Customer.objects.count() == 1
    assert lead.interactions.filter(kind=Interaction.Kind.CONVERTED).count() == 1


def test_a_customer_with_the_same_email_asks_for_a_choice(rep):
    existing = CustomerFactory(email="ada@analytical.co.uk", domain="")
    lead = _lead(owner=rep)
    result = lead_convert(lead=lead, by=rep)
    assert result.outcome == Outcome.NEEDS_CHOICE and result.matches == [existing] and result.customer is None
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW and lead.converted_customer is None  # nothing changed: the user chooses


def test_a_customer_of_the_same_corporate_domain_matches(rep):
    existing = CustomerFactory(email="charles@analytical.co.uk", domain="analytical.co.uk")
    lead = _lead(owner=rep, email="ada@mail.analytical.co.uk", website="https://analytical.co.uk")
    assert company_domain(lead=lead) == "analytical.co.uk"
    assert lead_convert(lead=lead, by=rep).matches == [existing]


def test_the_websites_domain_matches_when_the_email_is_free_mail(rep):
    existing = CustomerFactory(domain="analytical.co.uk")
    lead = _lead(owner=rep, email="ada.lovelace@gmail.com", website="https://www.analytical.co.uk/about")
    assert lead_convert(lead=lead, by=rep).matches == [existing]


def test_free_mail_domains_never_match(rep):
    CustomerFactory(email="someone.else@gmail.com", domain="gmail.com")
    lead = _lead(owner=rep, email="ada.lovelace@gmail.com")
    assert company_domain(lead=lead) == ""
    result = lead_convert(lead=lead, by=rep)
    assert result.outcome == Outcome.CREATED and result.customer.domain == ""
    assert Customer.objects.count() == 2


def test_create_makes_a_new_customer_despite_a_match(rep):
    existing = CustomerFactory(domain="analytical.co.uk")
    result = lead_convert(lead=_lead(owner=rep), by=rep, action="create")
    assert result.outcome == Outcome.CREATED and result.customer != existing


def test_link_joins_the_match_and_fills_only_its_blanks(rep, manager):
    existing = CustomerFactory(
        name="Analytical Engines Ltd",
        email="",
        phone="",
        domain="analytical.co.uk",
        company="AE Ltd",
        owner=manager,
        attributes={"plan": "starter"},
    )
    lead = _lead(owner=rep)
    result = lead_convert(lead=lead, by=rep, action="link", customer=existing.pk)
    assert result.outcome == Outcome.LINKED and result.customer == existing
    existing.refresh_from_db()
    assert (existing.name, existing.company, existing.email, existing.phone) == (
        "Analytical Engines Ltd",
        "AE Ltd",
        "ada@analytical.co.uk",
        "+442079460958",
    )
    assert existing.attributes == {"plan": "starter"} and existing.lead is None
    lead.refresh_from_db()
    assert lead.converted_customer == existing and lead.status == Lead.Status.CONVERTED


def test_link_to_a_customer_the_rep_cannot_see_and_that_does_not_match_is_refused(rep, other_rep):
    hidden = CustomerFactory(owner=other_rep, domain="elsewhere.com")
    with pytest.raises(ValidationError) as caught:
        lead_convert(lead=_lead(owner=rep), by=rep, action="link", customer=hidden.pk)
    assert caught.value.message_dict == {"customer": [CUSTOMER_UNKNOWN]}


def test_permissions_managers_any_reps_their_own_marketers_never(rep, other_rep, manager, marketer, team):
    theirs = _lead(owner=other_rep, email="a@one-example.org")
    queued = _lead(owner=None, team=team, email="b@two-example.org")
    for user, lead in ((rep, theirs), (rep, queued), (marketer, queued)):
        with pytest.raises(PermissionDenied, match=CONVERT_FORBIDDEN):
            lead_convert(lead=lead, by=user)
    assert lead_convert(lead=theirs, by=manager).outcome == Outcome.CREATED
    assert lead_convert(lead=queued, by=manager).customer.owner == manager  # no owner: the converter's


def test_a_lost_lead_is_not_converted(rep):
    lead = _lead(owner=rep, status=Lead.Status.LOST, lost_reason="Budget")
    with pytest.raises(ValidationError) as caught:
        lead_convert(lead=lead, by=rep)
    assert caught.value.message_dict == {"status": [LEAD_IS_LOST]}


def test_conversion_ends_the_leads_nurture_enrollments(rep):
    lead = _lead(owner=rep)
    sequence = SequenceFactory(name="Welcome")
    enrollment = EnrollmentFactory(sequence=sequence, lead=lead)
    lead_convert(lead=lead, by=rep)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == (Enrollment.Status.EXITED, Enrollment.ExitReason.CONVERTED)


@pytest.mark.django_db(transaction=True)
def test_two_people_converting_the_same_lead_at_once_make_one_customer():
    """Two threads (two PostgreSQL connections) convert the same lead at the same moment: the
    row lock makes the second wait, then it finds the lead converted."""
    manager = ManagerFactory(username="boss")
    owner = RepFactory(username="owner")
    lead = _lead(owner=owner)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def convert(user):
        try:
            barrier.wait(timeout=10)
            results.append(lead_convert(lead=Lead.objects.get(pk=lead.pk), by=user, action="create"))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=convert, args=(user,)) for user in (manager, owner)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(r.outcome for r in results) == [Outcome.ALREADY, Outcome.CREATED]
    assert Customer.objects.count() == 1
    assert {r.customer.pk for r in results} == {Customer.objects.get().pk}
    assert Interaction.objects.filter(lead=lead, kind=Interaction.Kind.CONVERTED).count() == 1


# --- The API: POST /api/v1/leads/{id}/convert ---------------------------------------------------


def url(lead):
    return f"/api/v1/leads/{lead.pk}/convert"


def test_api_201_for_a_new_customer_then_200_already(api_as, rep):
    lead = _lead(owner=rep)
    response = api_as(rep).post(url(lead), {}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["outcome"] == "created" and body["customer"]["domain"] == "analytical.co.uk"
    assert body["customer"]["leads"] == [lead.pk]
    again = api_as(rep).post(url(lead), {"action": "create"}, format="json")
    assert again.status_code == 200 and again.json()["outcome"] == "already"
    assert again.json()["customer"]["id"] == body["customer"]["id"]


def test_api_409_lists_the_matches_then_link_answers_200(api_as, rep):
    existing = CustomerFactory(domain="analytical.co.uk", name="Analytical Engines")
    lead = _lead(owner=rep)
    conflict = api_as(rep).post(url(lead), {}, format="json")
    assert conflict.status_code == 409
    assert [m["id"] for m in conflict.json()["matches"]] == [existing.pk]
    linked = api_as(rep).post(url(lead), {"action": "link", "customer": existing.pk}, format="json")
    assert linked.status_code == 200 and linked.json()["outcome"] == "linked"
    assert linked.json()["customer"]["id"] == existing.pk


def test_api_400_per_field(api_as, rep):
    lead = _lead(owner=rep)
    client = api_as(rep)
    bad_action = client.post(url(lead), {"action": "merge"}, format="json")
    assert bad_action.status_code == 400 and "action" in bad_action.json()
    no_customer = client.post(url(lead), {"action": "link"}, format="json")
    assert no_customer.status_code == 400 and "customer" in no_customer.json()
    unknown = client.post(url(lead), {"action": "link", "customer": 999999}, format="json")
    assert unknown.status_code == 400 and unknown.json() == {"customer": [CUSTOMER_UNKNOWN]}
    not_a_number = client.post(url(lead), {"action": "link", "customer": "abc"}, format="json")
    assert not_a_number.status_code == 400 and "customer" in not_a_number.json()
    assert not Customer.objects.exists()


def test_api_403_and_404_by_visibility(api_as, rep, other_rep, marketer, team):
    theirs = _lead(owner=other_rep, email="x@one-example.org")
    queued = _lead(owner=None, team=team, email="y@two-example.org")
    assert api_as(rep).post(url(theirs), {}, format="json").status_code == 404
    assert api_as(rep).post(url(queued), {}, format="json").status_code == 403
    assert api_as(marketer).post(url(queued), {}, format="json").status_code == 403
    assert not Customer.objects.exists()


def test_api_schema_documents_the_convert_action(api_as, manager):
    schema = api_as(manager).get("/api/v1/schema", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/leads/{id}/convert"]["post"]
    assert {"200", "201", "400", "403", "404", "409"} <= set(operation["responses"])


# --- Bulk ------------------------------------------------------------------------------------------


def test_bulk_links_a_single_clear_match_creates_otherwise_and_leaves_ambiguous_ones(client, manager):
    one = CustomerFactory(domain="linked-example.org")
    CustomerFactory(domain="ambiguous-example.org")
    CustomerFactory(domain="ambiguous-example.org")
    fresh = _lead(email="a@fresh-example.org")
    to_link = _lead(email="b@linked-example.org")
    ambiguous = _lead(email="c@ambiguous-example.org")
    client.force_login(manager)
    response = client.post(
        "/leads/convert", {"ids": [fresh.pk, to_link.pk, ambiguous.pk], "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"  # never an open redirect
    fresh.refresh_from_db(), to_link.refresh_from_db(), ambiguous.refresh_from_db()
    assert fresh.converted_customer.domain == "fresh-example.org"
    assert to_link.converted_customer == one
    assert ambiguous.converted_customer is None and ambiguous.status == Lead.Status.NEW


def test_bulk_skips_leads_the_rep_may_not_convert(rep, other_rep, team):
    mine = _lead(owner=rep, email="a@mine-example.org")
    queued = _lead(owner=None, team=team, email="b@queued-example.org")
    theirs = _lead(owner=other_rep, email="c@theirs-example.org")
    from leads.selectors import visible_to

    result = leads_bulk_convert(leads=visible_to(rep).filter(pk__in=[mine.pk, queued.pk, theirs.pk]), by=rep)
    assert (result.created, result.refused) == (1, [queued.pk])
    assert Lead.objects.get(pk=theirs.pk).converted_customer is None


def test_bulk_convert_endpoint_refuses_marketers(client, marketer):
    lead = _lead()
    client.force_login(marketer)
    assert client.post("/leads/convert", {"ids": [lead.pk]}).status_code == 403


def test_admin_action_converts_the_selected_leads(client, manager):
    manager.is_superuser = True
    manager.save()
    lead = _lead(email="a@admin-example.org")
    client.force_login(manager)
    response = client.post(
        "/admin/leads/lead/", {"action": "convert_to_customers", "_selected_action": [lead.pk]}, follow=True
    )
    assert response.status_code == 200
    assert Lead.objects.get(pk=lead.pk).converted_customer.domain == "admin-example.org"


# --- The lead page --------------------------------------------------------------------------------


def test_the_lead_page_offers_create_link_cancel_when_a_customer_matches(client, rep):
    existing = CustomerFactory(domain="analytical.co.uk", name="Analytical Engines Group")
    lead = _lead(owner=rep)
    client.force_login(rep)
    page = client.get(f"/leads/{lead.pk}")
    assert b"Analytical Engines Group" in page.content and b'value="link"' in page.content
    cancel = client.post(f"/leads/{lead.pk}/convert", {"action": "cancel"})
    assert cancel.status_code == 302 and not Lead.objects.get(pk=lead.pk).converted_customer
    auto = client.post(f"/leads/{lead.pk}/convert", {"action": "auto"})
    assert auto.status_code == 409 and b'value="create"' in auto.content  # a match appeared: choose
    linked = client.post(f"/leads/{lead.pk}/convert", {"action": "link", "customer": existing.pk})
    assert linked.status_code == 302  # to the lead: this customer is not the rep's
    assert Lead.objects.get(pk=lead.pk).converted_customer == existing


def test_converting_from_the_lead_page_opens_the_customer_with_the_leads_history(client, rep):
    lead = _lead(owner=rep)
    InteractionFactory(lead=lead, kind=Interaction.Kind.CALL_OUT, subject="Discovery call")
    client.force_login(rep)
    response = client.post(f"/leads/{lead.pk}/convert", {"action": "auto"}, follow=True)
    customer = Customer.objects.get()
    assert response.redirect_chain[-1][0] == f"/customers/{customer.pk}"
    assert b"Discovery call" in response.content and b"Converted to customer" in response.content
