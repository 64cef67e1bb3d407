"""The dashboard pages: SVG and table views hold the numbers, CSV export, who may see what, bad
filters, constant query counts and the cache."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.reporting.dashboards import DASHBOARDS
from leads.reporting.forms import END_BEFORE_START, RANGE_TOO_LONG
from tests.factories import LeadFactory, RepFactory, TeamMembershipFactory, UserFactory

from .conftest import DAY2, END, START, make_lead

pytestmark = pytest.mark.django_db
RANGE = {"start": START.isoformat(), "end": END.isoformat()}
SLUGS = list(DASHBOARDS)


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


def test_the_funnel_svg_has_a_title_a_description_and_each_bar_titled_with_its_number(as_manager, dataset):
    response = as_manager.get(reverse("leads:dashboard_chart", args=["funnel"]), RANGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'role="img"' in body and '<title id="funnel-title">Lead funnel</title>' in body
    assert '<desc id="funnel-desc">' in body
    for title in ("Created: 10", "Reached qualified: 5", "Reached converted: 3", "Now new: 2", "Now lost: 3"):
        assert f"<title>{title}</title>" in body


def test_the_table_view_shows_the_same_numbers_as_the_chart(as_manager, dataset):
    url = reverse("leads:dashboard_chart", args=["conversion"])
    chart = as_manager.get(url, RANGE).content.decode()
    assert "<title>Web form · Conversion rate: 25.0 %</title>" in chart
    assert "<title>Web form · Won of decided: 50.0 %</title>" in chart
    table = as_manager.get(url, {**RANGE, "view": "table"})
    assert table.status_code == 200
    rows = table.context["built"].table.rows
    assert ["Web form", 8, 2, 2, 25.0, 50.0] in rows
    assert '<th scope="row" class="fw-normal">Web form</th><td class="text-end">8</td>' in table.content.decode()
    assert "<svg" not in table.content.decode()


def test_sources_chart_stacks_sources_per_day_and_scores_by_grade(as_manager, dataset):
    body = as_manager.get(reverse("leads:dashboard_chart", args=["sources"]), RANGE).content.decode()
    assert f"<title>{DAY2.date().isoformat()} · Web form: 4</title>" in body
    assert f"<title>{DAY2.date().isoformat()} · Email: 2</title>" in body
    scores = as_manager.get(
        reverse("leads:dashboard_chart", args=["scores"]), {**RANGE, "by_grade": "on"}
    ).content.decode()
    assert "<title>90–100 · A: 1</title>" in scores and "<title>60–69 · B: 2</title>" in scores
    plain = as_manager.get(reverse("leads:dashboard_chart", args=["scores"]), RANGE).content.decode()
    assert "<title>60–69: 2</title>" in plain


def test_htmx_gets_the_card_alone(as_manager, dataset):
    response = as_manager.get(reverse("leads:dashboard_chart", args=["grades"]), RANGE, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and '<nav class="navbar' not in body
    assert "<title>A · Converted: 2</title>" in body


@pytest.mark.parametrize("slug", SLUGS)
def test_csv_export_matches_the_table(as_manager, dataset, slug):
    table = (
        as_manager.get(reverse("leads:dashboard_chart", args=[slug]), {**RANGE, "view": "table"}).context["built"].table
    )
    response = as_manager.get(reverse("leads:dashboard_export", args=[slug]), RANGE)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f"dashboard-{slug}-{START}-{END}.csv" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == table.header
    assert rows[1:] == [[str(cell) for cell in row] for row in table.rows]


def test_csv_export_is_formula_safe(as_manager, dataset, teams):
    make_lead("web_form", '=HYPERLINK("http://evil.example","x")', "new", 5, "D", teams["inside"], DAY2)
    rows = _csv(as_manager.get(reverse("leads:dashboard_export", args=["sources"]), RANGE))
    assert [DAY2.date().isoformat(), "Web form", '\'=HYPERLINK("http://evil.example","x")', "1"] in rows


def test_reps_may_not_see_dashboards(client, rep):
    client.force_login(rep)
    assert client.get(reverse("leads:dashboard_index")).status_code == 403
    for slug in SLUGS:
        assert client.get(reverse("leads:dashboard_chart", args=[slug])).status_code == 403
        assert client.get(reverse("leads:dashboard_export", args=[slug])).status_code == 403


def test_a_rep_who_is_staff_is_still_refused(client):
    user = RepFactory(username="staffrep", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("leads:dashboard_chart", args=["funnel"])).status_code == 403


def test_marketers_see_the_source_and_conversion_charts_only(client, marketer, dataset):
    client.force_login(marketer)
    index = client.get(reverse("leads:dashboard_index"), RANGE)
    assert index.status_code == 200
    assert [d.slug for d in index.context["dashboards"]] == ["sources", "conversion"]
    for slug in SLUGS:
        expected = 200 if slug in ("sources", "conversion") else 403
        assert client.get(reverse("leads:dashboard_chart", args=[slug]), RANGE).status_code == expected, slug
        assert client.get(reverse("leads:dashboard_export", args=[slug]), RANGE).status_code == expected, slug


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("leads:dashboard_index"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_staff_without_a_role_see_the_dashboards_and_the_nav_entry(client):
    client.force_login(UserFactory(username="ops", is_staff=True))
    response = client.get(reverse("leads:dashboard_index"))
    assert response.status_code == 200 and 'data-testid="nav-dashboards"' in response.content.decode()


def test_unknown_dashboard_is_404(as_manager):
    assert as_manager.get(reverse("leads:dashboard_chart", args=["nope"])).status_code == 404


def test_the_default_range_is_the_last_90_days(as_manager):
    from django.utils import timezone

    response = as_manager.get(reverse("leads:dashboard_chart", args=["funnel"]))
    options = response.context["options"]
    assert options.end == timezone.localdate() and (options.end - options.start).days == 89
    assert f'value="{options.start.isoformat()}"' in response.content.decode()


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "2026-03-20", "end": "2026-03-01"}, "end", str(END_BEFORE_START)),
        ({"start": "2020-01-01", "end": "2026-03-01"}, "start", str(RANGE_TOO_LONG)),
        ({"start": "yesterday", "end": "2026-03-01"}, "start", "Enter a valid date."),
        ({"start": "2026-03-01", "end": "2026-02-30"}, "end", "Enter a valid date."),
        ({"team": "999999"}, "team", "Select a valid choice. That choice is not one of the available choices."),
        ({"team": "x"}, "team", "Select a valid choice. That choice is not one of the available choices."),
    ],
)
def test_bad_filters_are_400_with_the_message_on_the_field(as_manager, params, field, message):
    for url in (
        reverse("leads:dashboard_index"),
        reverse("leads:dashboard_chart", args=["funnel"]),
        reverse("leads:dashboard_export", args=["funnel"]),
    ):
        response = as_manager.get(url, params)
        assert response.status_code == 400, url
        assert response.context["form"].errors[field] == [message]
        assert f'data-testid="error-{field}">{message}' in response.content.decode().replace("&#x27;", "'")


def test_bad_export_format_is_400(as_manager):
    response = as_manager.get(reverse("leads:dashboard_export", args=["funnel"]), {"format": "pdf"})
    assert response.status_code == 400 and "format" in response.context["form"].errors


def test_xlsx_export(as_manager, dataset):
    response = as_manager.get(reverse("leads:dashboard_export", args=["grades"]), {**RANGE, "format": "xlsx"})
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')


def test_the_overview_loads_each_chart_separately_and_links_it(as_manager):
    body = as_manager.get(reverse("leads:dashboard_index"), RANGE).content.decode()
    for slug in SLUGS:
        url = reverse("leads:dashboard_chart", args=[slug])
        assert f'hx-get="{url}?start={START}&amp;end={END}"' in body
        assert f'<a href="{url}?start={START}&amp;end={END}">' in body  # without JavaScript


# Queries per request: session, user (with the nav's counts and role groups), then the
# dashboard's own: one aggregate each; speed to lead two (reps, teams); the agents' board three
# (agents with open leads, memberships, today's assignments); the team filter's <select> one.
EXPECTED_QUERIES = {"funnel": 4, "sources": 4, "conversion": 4, "speed": 5, "load": 6, "scores": 4, "grades": 4}


def _more_data(teams):
    """Ten times more leads, another rep with assignments: the counts must not move."""
    other = RepFactory(username="rep9")
    TeamMembershipFactory(team=teams["field"], user=other)
    for i in range(60):
        LeadFactory(
            source=["chat", "email", "api"][i % 3],
            score=i,
            grade="ABCD"[i % 4],
            owner=other,
            team=teams["field"],
            status=["new", "converted", "lost"][i % 3],
            lost_reason="x" if i % 3 == 2 else "",
            created_at=DAY2 - timedelta(days=i % 8),
        )


@pytest.mark.parametrize("slug", SLUGS)
def test_query_count_is_constant_whatever_the_data(as_manager, dataset, teams, slug, django_assert_num_queries):
    url = reverse("leads:dashboard_chart", args=[slug])
    with django_assert_num_queries(EXPECTED_QUERIES[slug]):
        assert as_manager.get(url, RANGE).status_code == 200
    _more_data(teams)
    with django_assert_num_queries(EXPECTED_QUERIES[slug]):
        assert as_manager.get(url, RANGE).status_code == 200
    # One team: its <select> validation reads the team (and speed to lead its members).
    with django_assert_num_queries(EXPECTED_QUERIES[slug] + 1 + (slug == "speed")):
        assert as_manager.get(url, {**RANGE, "team": teams["field"].pk}).status_code == 200


def test_a_cache_hit_makes_no_aggregate_query(as_manager, dataset, settings):
    settings.DASHBOARD_CACHE_SECONDS = 60
    url = reverse("leads:dashboard_chart", args=["funnel"])
    first = as_manager.get(url, RANGE)
    assert "<title>Created: 10</title>" in first.content.decode()
    LeadFactory(created_at=DAY2)  # not seen until the entry expires
    with CaptureQueriesContext(connection) as queries:
        second = as_manager.get(url, RANGE)
    assert "<title>Created: 10</title>" in second.content.decode()
    assert not [q for q in queries.captured_queries if "leads_lead" in q["sql"]]
    assert len(queries) == EXPECTED_QUERIES["funnel"] - 1
    # Other filters are another entry.
    other = as_manager.get(url, {**RANGE, "start": (START + timedelta(days=1)).isoformat()})
    assert "<title>Created: 11</title>" in other.content.decode()


def test_the_cache_is_off_at_zero_seconds(as_manager, dataset):
    url = reverse("leads:dashboard_chart", args=["funnel"])
    as_manager.get(url, RANGE)
    LeadFactory(created_at=DAY2)
    assert "<title>Created: 11</title>" in as_manager.get(url, RANGE).content.decode()


@pytest.mark.parametrize("slug", SLUGS)
def test_an_empty_range_says_so(as_manager, slug):
    body = as_manager.get(reverse("leads:dashboard_chart", args=[slug]), RANGE).content.decode()
    assert "No data in this range." in body
    table = as_manager.get(reverse("leads:dashboard_chart", args=[slug]), {**RANGE, "view": "table"}).content.decode()
    assert "<svg" not in table and 'data-testid="table-' in table


def test_agents_load_is_one_cache_entry_whatever_the_dates(as_manager, dataset, settings, django_assert_num_queries):
    settings.DASHBOARD_CACHE_SECONDS = 60
    url = reverse("leads:dashboard_chart", args=["load"])
    as_manager.get(url, RANGE)
    with django_assert_num_queries(EXPECTED_QUERIES["load"] - 3):  # the board's three queries come from the cache
        body = as_manager.get(url, {"start": "2026-01-01", "end": "2026-01-31"}).content.decode()
    assert "<title>rep1 · Open leads: 3</title>" in body
