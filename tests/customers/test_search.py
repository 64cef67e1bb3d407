"""The global search (issue 19 §2): one box over leads and customers, what each role sees, the
phone typed in any format, grouping, limits and a fixed number of queries."""

import pytest

from customers.search import search_everything
from leads.models import Lead
from leads.search import CANDIDATES, search_terms_parse
from tests.factories import CustomerFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_a_rep_never_sees_another_reps_lead_or_customer(rep, other_rep, team):
    mine = LeadFactory(owner=rep, team=team, first_name="Ada", last_name="Quillfeather")
    queued = LeadFactory(owner=None, team=team, first_name="Bea", last_name="Quillfeather")
    theirs = LeadFactory(owner=other_rep, team=team, first_name="Cy", last_name="Quillfeather", external_id="CRM-77")
    my_customer = CustomerFactory(owner=rep, name="Quillfeather Ltd")
    CustomerFactory(owner=other_rep, name="Quillfeather GmbH")
    results = search_everything(user=rep, term="quillfeather")
    assert {lead.pk for lead in results.leads} == {mine.pk, queued.pk}
    assert [customer.pk for customer in results.customers] == [my_customer.pk]
    # Not by an exact value either.
    assert search_everything(user=rep, term="CRM-77").leads == []
    assert search_everything(user=rep, term=theirs.email).leads == []


def test_managers_and_marketers_see_every_match(manager, marketer, rep, other_rep):
    LeadFactory(owner=rep, last_name="Quillfeather")
    LeadFactory(owner=other_rep, last_name="Quillfeather")
    CustomerFactory(owner=other_rep, name="Quillfeather GmbH")
    for user in (manager, marketer):
        results = search_everything(user=user, term="Quillfeather")
        assert len(results.leads) == 2 and len(results.customers) == 1


def test_a_user_without_a_role_finds_nothing(django_user_model):
    LeadFactory(last_name="Quillfeather")
    nobody = django_user_model.objects.create_user("nobody")
    assert not search_everything(user=nobody, term="Quillfeather").found


@pytest.mark.parametrize(
    "typed", ["+44 20 7946 0958", "020 7946 0958", "(020) 7946-0958", "+442079460958", "7946 0958"]
)
def test_a_phone_typed_in_any_format_finds_the_stored_number(manager, typed):
    lead = LeadFactory(phone="+442079460958", first_name="Ada")
    customer = CustomerFactory(phone="+442079460958", name="Engines Ltd")
    results = search_everything(user=manager, term=typed)
    assert [found.pk for found in results.leads] == [lead.pk]
    assert [found.pk for found in results.customers] == [customer.pk]


def test_the_typed_phone_is_normalised_with_phonenumbers(settings):
    settings.PHONE_DEFAULT_REGION = "GB"
    terms = search_terms_parse(term="020 7946 0958")
    assert terms.phone == "+442079460958" and terms.text == "2079460958"


def test_each_field_is_searched(manager):
    lead = LeadFactory(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@engines.example",
        company="Analytical Engines",
        job_title="Chief Enchantress",
        external_id="SF-0042",
    )
    for term in (
        "lovelace",
        "ADA@ENGINES.EXAMPLE",
        "ada@engines",
        "engines.exam",
        "analytical",
        "enchantress",
        "SF-0042",
    ):
        assert [found.pk for found in search_everything(user=manager, term=term).leads] == [lead.pk], term


def test_results_are_grouped_by_kind_with_owner_and_status(client, manager, rep):
    LeadFactory(owner=rep, first_name="Ada", last_name="Quillfeather", status=Lead.Status.ACTIVE)
    CustomerFactory(owner=rep, name="Quillfeather Ltd")
    client.force_login(manager)
    body = client.get("/search/", {"q": "quillfeather"}).content.decode()
    leads = body.split('data-testid="search-leads"')[1].split("</section>")[0]
    customers = body.split('data-testid="search-customers"')[1].split("</section>")[0]
    assert "Ada Quillfeather" in leads and "Active" in leads and "rep1" in leads
    assert "Quillfeather Ltd" in customers and "rep1" in customers and "Customer" in customers


def test_exact_matches_come_first_and_each_group_is_capped(manager):
    LeadFactory.create_batch(CANDIDATES + 5, company="Quill Industries")
    exact = LeadFactory(email="quill@industries.example", company="Other")
    results = search_everything(user=manager, term="quill@industries.example", limit=5)
    assert results.leads[0].pk == exact.pk
    results = search_everything(user=manager, term="quill industries", limit=5)
    assert len(results.leads) == 5 and results.leads_more


def test_short_terms_match_exactly_only(manager):
    LeadFactory(last_name="Ox")
    ext = LeadFactory(external_id="Ox")
    results = search_everything(user=manager, term="Ox")
    assert results.terms.too_short and [lead.pk for lead in results.leads] == [ext.pk]


def test_the_search_is_two_queries_whatever_the_matches(django_assert_num_queries, rep, team):
    LeadFactory.create_batch(30, owner=rep, team=team, company="Quill Industries")
    CustomerFactory.create_batch(10, owner=rep, company="Quill Industries")
    rep = type(rep).objects.get(pk=rep.pk)  # roles are read once per user object
    search_everything(user=rep, term="x")  # warm the role cache
    with django_assert_num_queries(2):
        results = search_everything(user=rep, term="quill industries")
    assert len(results.leads) == 10 and len(results.customers) == 10 and results.leads_more


def test_the_page_and_the_dropdown(client, rep):
    LeadFactory(owner=rep, first_name="Ada", last_name="Quillfeather")
    client.force_login(rep)
    page = client.get("/search/", {"q": "quillfeather"})
    assert page.status_code == 200 and b"Ada Quillfeather" in page.content and b"<nav" in page.content
    dropdown = client.get("/search/", {"q": "quillfeather", "dropdown": "1"}, HTTP_HX_REQUEST="true")
    assert b'data-testid="search-dropdown"' in dropdown.content and b"<nav" not in dropdown.content
    assert client.get("/search/", {"q": "\x00" * 500}).status_code == 200
    assert client.get("/search/").status_code == 200


def test_the_search_needs_a_login(client):
    assert client.get("/search/", {"q": "x"}).status_code == 302


def test_job_title_is_in_the_lead_lists_search(client, manager):
    lead = LeadFactory(job_title="Chief Enchantress")
    client.force_login(manager)
    body = client.get("/", {"search": "enchantress"}).content.decode()
    assert lead.get_absolute_url() in body


def test_customers_are_found_by_job_title_and_exact_email(manager):
    customer = CustomerFactory(name="Grace Hopper", job_title="Rear Admiral", email="grace@navy.example")
    assert [found.pk for found in search_everything(user=manager, term="admiral").customers] == [customer.pk]
    assert [found.pk for found in search_everything(user=manager, term="Grace@Navy.Example").customers] == [customer.pk]
