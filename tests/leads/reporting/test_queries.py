"""Each dashboard aggregate on the small known data set: exact numbers."""

from datetime import date

import pytest

from leads.reporting import queries
from leads.reporting.dashboards import DASHBOARDS, Options
from leads.reporting.queries import Period, bucket_starts, bucket_unit

from .conftest import DAY1, DAY2, END, START

pytestmark = pytest.mark.django_db


def test_funnel_counts_leads_created_in_the_range_by_status_and_how_many_reached_qualified(dataset, manager):
    funnel = queries.dashboard_funnel(user=manager, start=START, end=END)
    assert funnel.total == 10
    assert {status: n for status, _, n in funnel.by_status} == {
        "new": 2,
        "active": 1,
        "nurturing": 0,
        "qualified": 1,
        "converted": 3,
        "lost": 3,
    }
    # qualified 1 + converted 3 + the lost lead whose timeline shows it was qualified first
    assert (funnel.reached_qualified, funnel.reached_converted) == (5, 3)


def test_funnel_for_one_team(dataset, manager, teams):
    funnel = queries.dashboard_funnel(user=manager, start=START, end=END, team=teams["inside"])
    assert funnel.total == 7
    assert (funnel.reached_qualified, funnel.reached_converted) == (3, 2)


def test_sources_per_day_by_source_and_channel(dataset, manager):
    series = queries.dashboard_sources(user=manager, start=START, end=END)
    assert series.unit == "day"
    assert series.buckets[0] == START and series.buckets[-1] == END and len(series.buckets) == 10
    assert series.rows == [
        (DAY1.date(), "web_form", "Pricing form", 3),
        (DAY1.date(), "web_form", "Webinar", 1),
        (DAY2.date(), "email", "", 2),
        (DAY2.date(), "web_form", "Pricing form", 3),
        (DAY2.date(), "web_form", "Webinar", 1),
    ]
    assert series.by_source()[(DAY2.date(), "web_form")] == 4


def test_bucket_size_follows_the_range_length():
    assert bucket_unit(Period(date(2026, 1, 1), date(2026, 1, 31))) == "day"
    assert bucket_unit(Period(date(2026, 1, 1), date(2026, 3, 31))) == "week"
    assert bucket_unit(Period(date(2025, 1, 1), date(2026, 3, 31))) == "month"
    # Weeks start on Monday (as PostgreSQL's date_trunc), months on the first.
    assert bucket_starts(Period(date(2026, 3, 4), date(2026, 3, 20)), "week") == [
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
    ]
    assert bucket_starts(Period(date(2025, 12, 15), date(2026, 2, 1)), "month") == [
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]


def test_conversion_by_source(dataset, manager):
    rows = {o.name: o for o in queries.dashboard_conversion(user=manager, start=START, end=END)}
    assert (rows["web_form"].leads, rows["web_form"].won, rows["web_form"].lost) == (8, 2, 2)
    assert (rows["web_form"].conversion_rate, rows["web_form"].win_rate) == (0.25, 0.5)
    assert (rows["email"].leads, rows["email"].won, rows["email"].lost) == (2, 1, 1)
    assert rows["chat"].leads == 0 and rows["chat"].conversion_rate is None  # outside the range only


def test_won_vs_lost_by_grade(dataset, manager):
    rows = [(o.name, o.leads, o.won, o.lost) for o in queries.dashboard_grades(user=manager, start=START, end=END)]
    assert rows == [("A", 2, 2, 0), ("B", 3, 1, 1), ("C", 2, 0, 1), ("D", 3, 0, 1), ("", 0, 0, 0)]


def test_score_histogram_by_tens_with_100_in_the_top_band(dataset, manager):
    histogram = queries.dashboard_scores(user=manager, start=START, end=END)
    assert [histogram.total(b) for b in range(10)] == [2, 1, 0, 1, 1, 0, 2, 1, 1, 1]
    assert histogram.counts[(9, "A")] == 1  # the score of 100
    assert histogram.counts[(6, "B")] == 2


def test_speed_to_lead_reuses_the_distribution_figures(dataset, manager, teams):
    report = queries.dashboard_speed(user=manager, start=START, end=END)
    for row in (report.reps[0], report.teams[0]):
        assert (row.assignments, row.contacted, row.median, row.p90) == (3, 2, 1500, 2220)  # 25 min; 10 + 0.9 × 30 min
        assert (row.decided, row.within_sla) == (3, 1)
    other = queries.dashboard_speed(user=manager, start=START, end=END, team=teams["field"])
    assert (other.reps, other.teams) == ([], [])


def test_agent_load_against_capacity(dataset, manager, teams):
    [row] = queries.dashboard_load(user=manager, start=START, end=END)
    assert (row.username, row.teams, row.open_leads, row.capacity, row.daily_limit) == (
        "rep1",
        ["Inside Sales"],
        3,
        10,
        5,
    )
    assert queries.dashboard_load(user=manager, start=START, end=END, team=teams["field"]) == []


def test_tables_hold_the_same_numbers(dataset, manager):
    options = Options(start=START, end=END)
    funnel = DASHBOARDS["funnel"].table(queries.dashboard_funnel(user=manager, start=START, end=END), options)
    assert funnel.rows[:3] == [["Created", 10, 100.0], ["Reached qualified", 5, 50.0], ["Reached converted", 3, 30.0]]
    speed = DASHBOARDS["speed"].table(queries.dashboard_speed(user=manager, start=START, end=END), options)
    assert speed.rows == [["Rep", "rep1", 3, 2, 25.0, 37.0, 33.3], ["Team", "Inside Sales", 3, 2, 25.0, 37.0, 33.3]]
    grades = DASHBOARDS["grades"].table(queries.dashboard_grades(user=manager, start=START, end=END), options)
    assert grades.rows[-1] == ["Not graded", 0, 0, 0, ""]


def test_weekly_buckets_over_a_longer_range(dataset, manager):
    series = queries.dashboard_sources(user=manager, start=date(2026, 1, 1), end=END)
    assert series.unit == "week" and series.buckets[0] == date(2025, 12, 29)  # the Monday of 1 January's week
    week = date(2026, 3, 16)  # DAY1 (15 March, a Sunday) is in the week before, DAY2 (18 March) in this one
    assert sum(n for bucket, *_, n in series.rows if bucket == week) == 6
    # DAY1's four, and the lead from just before the ten-day range (inside this longer one)
    assert sum(n for bucket, *_, n in series.rows if bucket == date(2026, 3, 9)) == 5
    assert sum(n for *_, n in series.rows) == 11


def test_days_are_the_sites_local_days(teams, manager, settings):
    from datetime import UTC, datetime

    from .conftest import make_lead

    settings.TIME_ZONE = "America/New_York"
    late = datetime(2026, 3, 15, 3, 0, tzinfo=UTC)  # 14 March, 23:00 in New York
    make_lead("chat", "", "new", 1, "D", None, late)
    series = queries.dashboard_sources(user=manager, start=date(2026, 3, 14), end=date(2026, 3, 14))
    assert series.rows == [(date(2026, 3, 14), "chat", "", 1)]
    assert queries.dashboard_funnel(user=manager, start=date(2026, 3, 15), end=date(2026, 3, 15)).total == 0
