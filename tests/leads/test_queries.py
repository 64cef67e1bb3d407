"""Query counts stay flat as the list grows: no N+1 on the lead list, HTML or API."""
import pytest

from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

# token lookup, role groups, count, page (owner and team joined in)
API_LIST_QUERIES = 4
# session, user, the user's list preferences, role groups, count, saved views, counts by status
# (one statement), the static lists, the reps and the enabled automations a manager may use in bulk
# actions, page
HTML_LIST_QUERIES = 11


@pytest.mark.parametrize("n", [10, 100])
def test_api_list_makes_the_same_queries_for_10_and_100_leads(n, api_as, manager, team, rep, django_assert_num_queries):
    LeadFactory.create_batch(n, owner=rep, team=team)
    client = api_as(manager)
    with django_assert_num_queries(API_LIST_QUERIES):
        response = client.get("/api/v1/leads", {"page_size": 100})
    assert len(response.json()["results"]) == n


@pytest.mark.parametrize("n", [10, 100])
def test_a_reps_filtered_api_list_is_flat_too(n, api_as, rep, team, django_assert_num_queries):
    LeadFactory.create_batch(n, owner=rep, team=team, status="active")
    client = api_as(rep)
    with django_assert_num_queries(API_LIST_QUERIES):
        response = client.get("/api/v1/leads", {"page_size": 100, "status": "active,new", "search": "example", "ordering": "-score"})
    assert len(response.json()["results"]) == n


@pytest.mark.parametrize("n", [10, 100])
def test_html_list_makes_the_same_queries_for_10_and_100_leads(n, client, manager, team, rep, django_assert_num_queries):
    LeadFactory.create_batch(n, owner=rep, team=team)
    client.force_login(manager)
    with django_assert_num_queries(HTML_LIST_QUERIES):
        response = client.get("/", {"page_size": 100})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == n


@pytest.mark.parametrize("n", [10, 100])
def test_customer_api_list_is_flat(n, api_as, manager, django_assert_num_queries):
    from tests.factories import CustomerFactory

    CustomerFactory.create_batch(n, owner=manager, lead=None)
    client = api_as(manager)
    with django_assert_num_queries(API_LIST_QUERIES + 1):  # + the linked leads of the page, one prefetch
        response = client.get("/api/v1/customers", {"page_size": 100})
    assert len(response.json()["results"]) == n


def test_past_the_exact_limit_the_count_is_the_planners_estimate_and_says_so():
    """Counting every match of a common search costs more than the page; past the limit the
    API gives PostgreSQL's estimate and flags it (count_exact: false)."""
    from django.db import connection

    from leads.common.pagination import queryset_count
    from leads.models import Lead

    Lead.objects.bulk_create([Lead(email=f"c{i}@example.com") for i in range(30)])
    assert queryset_count(Lead.objects.all(), exact_limit=100) == (30, True)
    count, exact = queryset_count(Lead.objects.all(), exact_limit=10)
    assert exact is (connection.vendor != "postgresql")
    assert count >= 11  # never less than what was actually counted
