"""Query counts stay flat as the list grows: no N+1 on the lead list, HTML or API."""

import pytest
from django.utils import timezone

from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

# the token with the user and their role groups (one statement), count, page (owner and team joined in)
API_LIST_QUERIES = 3
# session, user (with their role groups), the user's list preferences, count (the matches' ids, sort values and
# status: the "All" tab of a small result counts its tabs from them), saved views, the static lists,
# the reps and the enabled automations a manager may use in bulk actions, page. A large result, or
# a status tab, adds the counts by status (one statement).
HTML_LIST_QUERIES = 9


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
        response = client.get(
            "/api/v1/leads", {"page_size": 100, "status": "active,new", "search": "example", "ordering": "-score"}
        )
    assert len(response.json()["results"]) == n


@pytest.mark.parametrize("n", [10, 100])
def test_html_list_makes_the_same_queries_for_10_and_100_leads(
    n, client, manager, team, rep, django_assert_num_queries
):
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


# --- ids first, then the page (leads/common/matches.py) ------------------------------------------------


def _past_the_ids_limit(monkeypatch) -> None:
    """Lower the ids-first limit to 20 matches, so 30 leads take the other path (the ordered walk)."""
    from leads.common import matches

    monkeypatch.setattr(matches, "COUNT_EXACT_LIMIT", 20)
    monkeypatch.setattr(matches, "ROWS_READ_PER_ROW_SHOWN", 1)


LIST_ORDERINGS = [
    "",
    "-score",
    "score",
    "-probability",
    "last_activity_at",
    "-updated_at",
    "callable_now",
    "-score,created_at",
]


@pytest.mark.parametrize("ordering", LIST_ORDERINGS)
@pytest.mark.parametrize("role", ["manager", "rep"])
def test_every_api_list_and_search_is_a_constant_number_of_queries(
    role, ordering, request, api_as, team, monkeypatch, django_assert_num_queries
):
    """Ids first (10 matches): token, roles, the matches' ids and sort values, the page by id. Past
    the limit (30 matches): token, roles, the capped ids, the planner's estimate, the ordered page.
    The same for a manager and a rep, for every ordering the list offers, searching or not."""
    user = request.getfixturevalue(role)
    LeadFactory.create_batch(
        10, owner=user if role == "rep" else None, team=team, company="Acme GmbH", probability=None
    )
    client = api_as(user)
    params = {"page_size": 5, "search": "gmbh", **({"ordering": ordering} if ordering else {})}
    with django_assert_num_queries(API_LIST_QUERIES):
        body = client.get("/api/v1/leads", params).json()
    assert body["count"] == 10 and body["count_exact"] and len(body["results"]) == 5
    # with values to sort by (a page that crosses into the NULLs reads them with one query more)
    LeadFactory.create_batch(
        20,
        owner=user if role == "rep" else None,
        team=team,
        company="Acme GmbH",
        probability=0.5,
        last_activity_at=timezone.now(),
    )
    _past_the_ids_limit(monkeypatch)
    with django_assert_num_queries(API_LIST_QUERIES + 1):
        body = client.get("/api/v1/leads", params).json()
    assert body["count_exact"] is False and len(body["results"]) == 5


@pytest.mark.parametrize("role", ["manager", "rep"])
def test_the_html_list_is_a_constant_number_of_queries_for_small_and_large_results(
    role, request, client, team, monkeypatch, django_assert_num_queries
):
    user = request.getfixturevalue(role)
    LeadFactory.create_batch(10, owner=user if role == "rep" else None, team=team, company="Acme GmbH")
    client.force_login(user)
    # a rep has no reps, static lists or automations to choose from in the bulk actions: 3 fewer
    expected = HTML_LIST_QUERIES - (0 if role == "manager" else 3)
    with django_assert_num_queries(expected):
        response = client.get("/", {"search": "gmbh", "ordering": "-score", "page_size": 5})
    assert response.status_code == 200 and len(response.context["page"].object_list) == 5
    LeadFactory.create_batch(20, owner=user if role == "rep" else None, team=team, company="Acme GmbH")
    _past_the_ids_limit(monkeypatch)
    with django_assert_num_queries(expected + 2):  # + the planner's estimate, + the counts by status
        response = client.get("/", {"search": "gmbh", "ordering": "-score", "page_size": 5})
    assert response.status_code == 200 and len(response.context["page"].object_list) == 5


def test_a_reps_few_matches_among_many_are_read_by_id_not_by_walking_the_date_index(api_as, rep, other_rep, team):
    """Issue 22 §1: a rep owns 2 of 3,000 leads matching "gmbh". The ordered page query
    (`ORDER BY created_at DESC, id DESC LIMIT 26`) walked lead_created_idx until it had read every
    row (1-2 s at a million leads). Now the list reads the matches' ids unordered, sorts them, and
    fetches the page by primary key: no query of the list walks a sort index, whatever the plan costs say."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.common.matches import PROBE_ROWS
    from leads.models import Lead

    Lead.objects.bulk_create(
        [
            LeadFactory.build(company=f"Muster {i} GmbH", owner=other_rep, team=team, email=f"m{i}@muster.de")
            for i in range(3000)
        ],
        batch_size=1000,
    )
    mine = [LeadFactory(company="Rep GmbH", owner=rep, team=team, score=score) for score in (10, 90)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
    client = api_as(rep)
    for ordering in ("", "-score", "last_activity_at"):
        with CaptureQueriesContext(connection) as queries:
            body = client.get(
                "/api/v1/leads", {"search": "gmbh", **({"ordering": ordering} if ordering else {})}
            ).json()
        assert sorted(lead["id"] for lead in body["results"]) == sorted(lead.pk for lead in mine)
        selects = [q["sql"] for q in queries.captured_queries if 'FROM "leads_lead"' in q["sql"]]
        ids_query, page_query = selects
        # in the default order, newest first, the first page is looked for among the newest
        # PROBE_ROWS leads only (a bounded walk; walk_probe)...
        probe_part, matches_sql = ids_query.split("WITH m AS MATERIALIZED (", 1)
        assert (f"LIMIT {PROBE_ROWS})" in probe_part) == (ordering == "")
        # ...then the matches are read unordered (bounded), and the few read are sorted
        matches_part, sorted_part = matches_sql.split("), c AS (")
        assert "ORDER BY" not in matches_part and "LIMIT 1001" in matches_part
        assert "ORDER BY" in sorted_part
        assert '"leads_lead"."id" = ANY(' in page_query and "LIMIT" not in page_query
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # make every index look cheap, the date index too
            for sql in (matches_part, page_query):  # the matches' read and the page: no walk at all
                cursor.execute(f"EXPLAIN {sql}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert "lead_created_idx" not in plan and "lead_score_idx" not in plan, f"{sql}\n{plan}"
            cursor.execute(f"EXPLAIN {page_query}")
            assert "leads_lead_pkey" in "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("SET LOCAL enable_seqscan = on")


def test_an_empty_queryset_reads_no_keys_and_counts_zero():
    """`.none()` (a user with no role, an invalid filter) compiles to no SQL at all: the ids-first
    reader answers an exact zero without a query, as Django's own count() would."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.common.matches import matches_read
    from leads.models import Lead

    LeadFactory()
    with CaptureQueriesContext(connection) as queries:
        matches = matches_read(Lead.objects.none().order_by("-created_at"))
    assert (matches.count, matches.exact, matches.keys) == (0, True, []) and not queries.captured_queries
