"""Following the API's `next` links reaches every lead, whatever the count estimate says."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from leads.api.keyset import CURSOR_INVALID
from leads.common import matches
from leads.common.pagination import COUNT_EXACT_LIMIT
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads"


def test_next_links_reach_every_lead_when_the_estimated_count_is_far_too_low(api_as, manager, monkeypatch):
    """The list once answered `count: 1001, count_exact: false` for 9,200 leads and gave `next`
    links only for the pages that estimate covered: an integration following `next` missed most leads."""
    monkeypatch.setattr(matches, "ROWS_READ_PER_ROW_SHOWN", 1)  # ids first up to 1,000 matches, then the walk
    total = 1_500
    Lead.objects.bulk_create([LeadFactory.build(score=0) for _ in range(total)], batch_size=500)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")  # the statistics now say no lead scores 77…
    Lead.objects.update(score=77)  # …and they go stale, as after a big import

    seen: list[int] = []
    url = f"{URL}?score_min=77&page_size=200"
    first = None
    while url:
        response = api_as(manager).get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        first = first or body
        seen += [lead["id"] for lead in body["results"]]
        url = body["next"]

    assert first["count_exact"] is False and first["count"] < total  # the estimate really is low
    assert first["count"] > COUNT_EXACT_LIMIT
    assert len(seen) == len(set(seen)) == total


def test_past_the_last_page_is_invalid_even_with_an_estimated_count(api_as, manager):
    Lead.objects.bulk_create([LeadFactory.build() for _ in range(COUNT_EXACT_LIMIT + 10)], batch_size=500)
    response = api_as(manager).get(f"{URL}?page_size=500&page=4")
    assert response.status_code == 404
    last = api_as(manager).get(f"{URL}?page_size=500&page=3").json()
    assert len(last["results"]) == 10 and last["next"] is None and last["previous"]


# --- keyset paging: `next` and `previous` carry a cursor ------------------------------------------


def _walk(client, url: str, link: str = "next") -> list[list[int]]:
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([lead["id"] for lead in body["results"]])
        url = body[link]
    return pages


def _expected(ordering: str) -> list[int]:
    """The whole list in the API's order: the column with NULLs last, then the id in the column's
    direction (newest first going down, oldest first going up)."""
    field = ordering.lstrip("-")
    descending = ordering.startswith("-")
    column = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return list(Lead.objects.order_by(column, "-id" if descending else "id").values_list("id", flat=True))


def _leads_with_ties_and_nulls(count: int) -> None:
    """Scores repeat (ties), a third have no probability or activity (NULLs), creation times repeat."""
    now = timezone.now()
    Lead.objects.bulk_create(
        [
            LeadFactory.build(
                score=index % 7,
                probability=None if index % 3 == 0 else (index % 10) / 10,
                last_activity_at=None if index % 3 == 1 else now - timedelta(hours=index % 5),
                created_at=now - timedelta(minutes=index % 11),
            )
            for index in range(count)
        ],
        batch_size=500,
    )


@pytest.fixture(params=["ids first", "index walk", "first page probed"])
def path(request, monkeypatch):
    """The ways a list reads its pages (leads/common/matches.py): ids first for a small result (95 leads
    are one), the ordered walk of the sort index past the limit (forced here by a limit of 20), and
    the first page found among the newest rows by the probe, then ids first from the cursor on
    (the probe is otherwise off in a table this small)."""
    if request.param == "index walk":
        monkeypatch.setattr(matches, "COUNT_EXACT_LIMIT", 20)
        monkeypatch.setattr(matches, "ROWS_READ_PER_ROW_SHOWN", 1)
    if request.param == "first page probed":
        monkeypatch.setattr(matches, "PROBE_MIN_TABLE", -1)  # reltuples is -1 before any ANALYZE
    return request.param


@pytest.mark.parametrize(
    "ordering",
    [
        "",
        "-created_at",
        "created_at",
        "-score",
        "score",
        "-probability",
        "probability",
        "-last_activity_at",
        "last_activity_at",
        "-updated_at",
        "updated_at",
    ],
)
def test_following_next_and_then_previous_walks_every_ordering_exactly_once(api_as, manager, ordering, path):
    """Cursor pages follow the list's own order, ties and NULLs included, forwards and backwards."""
    _leads_with_ties_and_nulls(95)
    client = api_as(manager)
    url = f"{URL}?page_size=10" + (f"&ordering={ordering}" if ordering else "")

    forwards = _walk(client, url)
    flat = [pk for page in forwards for pk in page]
    assert flat == _expected(ordering or "-created_at")
    assert [len(page) for page in forwards] == [10] * 9 + [5]

    last_page = client.get(url).json()
    while last_page["next"]:
        last_page = client.get(last_page["next"]).json()
    backwards = _walk(client, last_page["previous"], link="previous")
    assert list(reversed(backwards)) == forwards[:-1]


def test_a_lead_created_while_a_client_walks_the_list_shifts_nothing(api_as, manager):
    """With page numbers, a lead inserted at the top pushed every later page down by one: the
    client saw the last lead of page 1 again on page 2. A cursor starts after the row it names."""
    _leads_with_ties_and_nulls(30)
    client = api_as(manager)
    before = set(Lead.objects.values_list("id", flat=True))
    first = client.get(f"{URL}?page_size=10").json()
    LeadFactory.create_batch(3)  # newer than everything: they sort first
    seen = [lead["id"] for lead in first["results"]] + [pk for page in _walk(client, first["next"]) for pk in page]
    assert len(seen) == len(set(seen)) == len(before)
    assert set(seen) == before


def test_a_forged_or_foreign_cursor_is_a_400_naming_the_parameter(api_as, manager):
    _leads_with_ties_and_nulls(12)
    client = api_as(manager)
    forged = client.get(f"{URL}?page_size=5&cursor=not-a-cursor")
    assert forged.status_code == 400
    assert forged.json()["cursor"] == [CURSOR_INVALID]
    by_score = client.get(f"{URL}?page_size=5&ordering=-score").json()["next"]
    cursor = by_score.split("cursor=")[1].split("&")[0]
    foreign = client.get(f"{URL}?page_size=5&ordering=-created_at&cursor={cursor}")
    assert foreign.status_code == 400 and foreign.json()["cursor"] == [CURSOR_INVALID]


def test_a_deep_cursor_page_costs_the_same_queries_as_the_first(
    api_as, manager, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(matches, "COUNT_EXACT_LIMIT", 20)  # past the ids-first limit: the index walk
    monkeypatch.setattr(matches, "ROWS_READ_PER_ROW_SHOWN", 1)
    _leads_with_ties_and_nulls(60)
    client = api_as(manager)
    url = f"{URL}?page_size=10&ordering=-probability"
    pages = [url]
    for _ in range(4):
        pages.append(client.get(pages[-1]).json()["next"])
    # token with the caller's roles, the capped ids, the estimate, the page's rows (owners and teams joined in)
    with django_assert_num_queries(4):
        client.get(pages[0])
    with django_assert_num_queries(4):
        client.get(pages[2])
    # the page that crosses from the values into the NULLs reads each part through its own index
    with django_assert_num_queries(5):
        client.get(pages[3])


def test_a_small_results_pages_cost_the_same_queries_wherever_they_are(api_as, manager, django_assert_num_queries):
    """Ids first: the token with the roles, the matches' ids and sort values, the page by id — three
    queries on every page, the one that crosses into the NULLs too."""
    _leads_with_ties_and_nulls(60)
    client = api_as(manager)
    url = f"{URL}?page_size=10&ordering=-probability"
    pages = [url]
    for _ in range(4):
        pages.append(client.get(pages[-1]).json()["next"])
    for page in (pages[0], pages[2], pages[3], pages[4]):
        with django_assert_num_queries(3):
            assert client.get(page).status_code == 200


def test_next_reaches_every_lead_of_ten_thousand_with_stale_statistics(api_as, manager):
    """The issue's own case: 10,000 leads, statistics gathered before the rows changed."""
    total = 10_000
    Lead.objects.bulk_create([LeadFactory.build(score=0) for _ in range(total)], batch_size=1_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
    Lead.objects.update(score=55)
    seen = [pk for page in _walk(api_as(manager), f"{URL}?score_min=55&page_size=500") for pk in page]
    assert len(seen) == len(set(seen)) == total


@pytest.mark.parametrize("ordering", ["last_activity_at", "-last_activity_at", "-updated_at"])
def test_times_a_microsecond_apart_page_in_order_forwards_and_back(api_as, manager, ordering):
    """A small result sorts its datetimes as whole microseconds since 1970 (leads/common/matches.py):
    leads whose times differ by one microsecond, repeat, or are missing still come in the list's
    order, each once, and a cursor between two of them lands exactly between them."""
    start = timezone.now().replace(microsecond=0)
    Lead.objects.bulk_create(
        [
            LeadFactory.build(last_activity_at=None if index % 9 == 0 else start + timedelta(microseconds=index % 13))
            for index in range(60)
        ]
    )
    Lead.objects.update(updated_at=start - timedelta(microseconds=1))  # one time shared by every lead
    client = api_as(manager)
    url = f"{URL}?page_size=7&ordering={ordering}"

    forwards = _walk(client, url)
    assert [pk for page in forwards for pk in page] == _expected(ordering)

    last_page = client.get(url).json()
    while last_page["next"]:
        last_page = client.get(last_page["next"]).json()
    assert list(reversed(_walk(client, last_page["previous"], link="previous"))) == forwards[:-1]


def test_a_first_page_found_among_the_newest_leads_does_not_read_the_matches(api_as, manager, monkeypatch):
    """walk_probe: the first page is looked for among the newest PROBE_ROWS leads; when it is there,
    the bitmap read of every match (35 ms for a rep's common term at a million leads) never starts,
    and the count is the planner's estimate, said to be one."""
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(matches, "PROBE_MIN_TABLE", -1)
    _leads_with_ties_and_nulls(60)
    with CaptureQueriesContext(connection) as queries:
        body = api_as(manager).get(f"{URL}?page_size=5").json()
    assert [lead["id"] for lead in body["results"]] == _expected("-created_at")[:5]
    assert body["count_exact"] is False and body["count"] >= 6 and body["next"]
    statement = next(q["sql"] for q in queries.captured_queries if q["sql"].startswith("WITH p AS MATERIALIZED"))
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {statement}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "One-Time Filter" in plan and "CTE m" in plan
    matches_read = plan.split("CTE m", 1)[1].splitlines()[1]
    assert "never executed" in matches_read, plan


def test_the_probe_walks_only_the_columns_the_filters_name(api_as, rep, other_rep, team, monkeypatch):
    """The newest rows the probe walks carry the columns the filters and the key read (a search's
    haystack, a rep's visibility, the status), not all of the lead's: the same first page either way."""
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(matches, "PROBE_MIN_TABLE", -1)
    mine = LeadFactory.create_batch(8, owner=rep, team=team, company="Acme GmbH", status="active")
    queued = LeadFactory.create_batch(4, owner=None, team=team, company="Beta GmbH", status="active")
    LeadFactory.create_batch(6, owner=other_rep, company="Other GmbH", status="active")  # not visible
    LeadFactory.create_batch(3, owner=rep, team=team, company="Acme GmbH", status="new")  # filtered out
    with CaptureQueriesContext(connection) as queries:
        body = api_as(rep).get(f"{URL}?search=gmbh&status=active&page_size=5").json()
    expected = sorted(mine + queued, key=lambda lead: (lead.created_at, lead.pk), reverse=True)
    assert [lead["id"] for lead in body["results"]] == [lead.pk for lead in expected[:5]]
    statement = next(q["sql"] for q in queries.captured_queries if q["sql"].startswith("WITH p AS MATERIALIZED"))
    walked = statement.split("FROM (SELECT ", 2)[2].split(" FROM ", 1)[0]
    assert walked == '"id", "owner_id", "search_text", "status", "team_id"'


def test_the_probe_stays_off_in_a_table_too_small_to_say_anything_about_the_count(api_as, manager):
    """Below PROBE_MIN_TABLE rows the newest rows are most of the table: a small result keeps its exact count."""
    _leads_with_ties_and_nulls(30)
    body = api_as(manager).get(f"{URL}?page_size=5").json()
    assert body["count"] == 30 and body["count_exact"] is True
