"""Issue 22 §1 for every ordering the API list offers: the shapes of its statements.

A page past the ids-first limit walks the ordering's index when one gives the order; where none does,
only the keys of the matches are sorted and the page's rows alone are read whole. The keys read
first come from the lead row, without the rank table's join (tests/leads/api/test_paging.py walks
every ordering forwards and back through each of these paths)."""

import pytest
from django.db import connection
from django.db.models import F
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from leads.api.keyset import _ordered, sort_key_of
from leads.common import matches
from leads.models import Lead
from leads.selectors import lead_list
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads"


def _walk_plan(user, ordering: str) -> str:
    """EXPLAIN of the keyset's ordered walk (its values part) for `ordering`, with sorts, bitmaps
    and sequential scans disabled: a Sort in it means no index gives the order."""
    queryset = lead_list(user=user, filters=QueryDict(f"ordering={ordering}"))
    key = sort_key_of(queryset)
    part = queryset.filter(**{f"{key.column}__isnull": False}) if key.nullable else queryset
    with connection.cursor() as cursor:
        for setting in ("enable_sort", "enable_incremental_sort", "enable_bitmapscan", "enable_seqscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
    return _ordered(part.values("pk"), key, backwards=False)[:11].explain()


def _leads(count: int) -> None:
    Lead.objects.bulk_create(
        [
            LeadFactory.build(score=index % 7, probability=None if index % 3 == 0 else (index % 10) / 10)
            for index in range(count)
        ],
        batch_size=500,
    )


@pytest.mark.parametrize("ordering", ["-probability", "probability", "-last_activity_at", "last_activity_at"])
def test_a_nullable_orderings_walk_is_written_as_its_index_orders(manager, ordering):
    """`DESC NULLS LAST` going down and `ASC NULLS FIRST` going up, as the indexes are built: with
    PostgreSQL's defaults no index gave the order and every match was read and sorted (60–80 ms
    for 15,000 matches at a million leads). Told not to sort, PostgreSQL then needs no sort at all:
    the index, read forwards or backwards, gives the column's order and the id's."""
    _leads(30)
    plan = _walk_plan(manager, ordering)
    assert "Sort" not in plan, plan
    index = "rank_probability_idx" if "probability" in ordering else "lead_last_activity_idx"
    assert index in plan, plan


@pytest.mark.parametrize(
    "ordering",
    ["-created_at", "-score", "-probability", "-updated_at", "-last_activity_at", "created_at", "score", "updated_at"],
)
def test_every_walk_is_its_index_order_tie_break_included(manager, ordering):
    """Going down or up, an index gives the whole order, the id tie-break included: no sort at
    all, not even an incremental one (which reads a whole group of equal values: 12,874 leads
    sharing the newest `updated_at` for a page of 25 before lead_updated_idx held the id; going up by
    `score` with a `-id` tie-break, every lead of the lowest score)."""
    _leads(30)
    plan = _walk_plan(manager, ordering)
    assert "Sort" not in plan, plan


def test_a_walked_page_reads_whole_rows_only_for_its_own_leads(api_as, manager, monkeypatch):
    """Past the ids-first limit, the ordered LIMIT picks the keys on narrow rows and only those
    rows are read whole, in the same statement."""
    monkeypatch.setattr(matches, "COUNT_EXACT_LIMIT", 20)
    monkeypatch.setattr(matches, "ROWS_READ_PER_ROW_SHOWN", 1)
    _leads(60)
    client = api_as(manager)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(f"{URL}?ordering=probability&page_size=10").json()
    assert [lead["id"] for lead in body["results"]] == list(
        Lead.objects.filter(probability__isnull=False).order_by("probability", "id").values_list("id", flat=True)[:10]
    )
    page = [query["sql"] for query in queries.captured_queries if '"leads_lead"."first_name"' in query["sql"]]
    assert len(page) == 1 and "IN (SELECT" in page[0] and "LIMIT 11" in page[0], page


@pytest.mark.parametrize("ordering", ["-score", "probability"])
def test_a_ranked_orderings_keys_are_read_without_the_rank_table(api_as, manager, ordering):
    """The keys (and count) of a list ordered by a column copied to the rank table are read from the
    lead row: the join, one rank lookup per match, was ~15 ms of a 500-lead page at a million leads.
    A filter on the rank table keeps it."""
    _leads(40)
    client = api_as(manager)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(f"{URL}?ordering={ordering}&page_size=500").json()
    keys = [query["sql"] for query in queries.captured_queries if "WITH m AS MATERIALIZED" in query["sql"]]
    assert len(keys) == 1 and "leads_leadrank" not in keys[0], keys
    field = ordering.lstrip("-")
    order = Lead._meta.get_field(field)
    expected = Lead.objects.order_by(
        order.name if not ordering.startswith("-") else f"-{order.name}", "-id" if ordering.startswith("-") else "id"
    ).values_list("id", flat=True)
    nulls_last = [pk for pk in expected if getattr(Lead.objects.get(pk=pk), field) is not None]
    nulls_last += [pk for pk in expected if pk not in nulls_last]
    assert [lead["id"] for lead in body["results"]] == nulls_last
    assert body["count"] == 40 and body["count_exact"] is True

    with CaptureQueriesContext(connection) as queries:
        filtered = client.get(f"{URL}?ordering={ordering}&score_min=3&page_size=500").json()
    keys = [query["sql"] for query in queries.captured_queries if "WITH m AS MATERIALIZED" in query["sql"]]
    assert len(keys) == 1 and "leads_leadrank" in keys[0], keys
    assert {lead["id"] for lead in filtered["results"]} == set(
        Lead.objects.filter(score__gte=3).values_list("id", flat=True)
    )


@pytest.mark.parametrize("ordering", ["probability", "-score", "last_activity_at"])
def test_the_html_lists_page_past_the_limit_reads_whole_rows_only_for_its_leads(client, manager, monkeypatch, ordering):
    """The HTML list pages by number: past the ids-first limit, its page is read as the API's is
    (keys by the ordered LIMIT, then those rows), in the list's order with NULLs last. Going up by a
    nullable ranked column (no index gives that order), the sort is on the lead row's own copy."""
    monkeypatch.setattr(matches, "COUNT_EXACT_LIMIT", 20)
    monkeypatch.setattr(matches, "ROWS_READ_PER_ROW_SHOWN", 1)
    _leads(60)
    client.force_login(manager)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/", {"ordering": ordering, "page_size": 10, "page": 2})
    assert response.status_code == 200
    field = ordering.lstrip("-")
    column = getattr(Lead._meta.get_field(field), "attname", field)
    order = F(column).desc(nulls_last=True) if ordering.startswith("-") else F(column).asc(nulls_last=True)
    tie_break = "-id" if ordering.startswith("-") else "id"
    expected = list(Lead.objects.order_by(order, tie_break).values_list("id", flat=True)[10:20])
    assert [lead.pk for lead in response.context["page"].object_list] == expected
    page = [query["sql"] for query in queries.captured_queries if '"leads_lead"."first_name"' in query["sql"]]
    assert len(page) == 1 and "IN (SELECT" in page[0], page
    assert ("leads_leadrank" in page[0]) == (ordering == "-score"), page[0]
