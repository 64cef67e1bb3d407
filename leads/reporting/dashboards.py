"""The dashboards: for each, its aggregate (queries.py), the numbers as a table (the table view and
the CSV export share it, so they always match) and its SVG chart (charts.py), and who may see it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import Lead, Team
from ..permissions import can_open_dashboard
from . import queries
from .charts import column_chart, hbar_chart
from .queries import GRADES, SCORE_BUCKETS, score_bucket_label

NO_CHANNEL = _("(none)")
NOT_GRADED = _("Not graded")


@dataclass(frozen=True)
class Options:
    """The validated filters."""

    start: date
    end: date
    team: Team | None = None
    by_grade: bool = False


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[Any]]


def _pct(part: float | None) -> float | str:
    return "" if part is None else round(part * 100, 1)


def _minutes(seconds: float | None) -> float | str:
    return "" if seconds is None else round(seconds / 60, 1)


def _fmt_pct(value: float) -> str:
    return f"{value:.1f} %"


def _fmt_min(value: float) -> str:
    return f"{value:,.1f} min"


SOURCE_LABELS = dict(Lead.Source.choices)


def _grade(grade: str) -> str:
    return grade or str(NOT_GRADED)


def _none_if_blank(value):
    return None if value == "" else value


def _table_hbars(table: Table, *, columns: list[int], label=lambda row: row[0], **chart) -> SafeString:
    """Horizontal bars of some of the table's columns, one row of bars per table row (blank: no bar)."""
    return hbar_chart(
        categories=[label(row) for row in table.rows],
        values=[[_none_if_blank(row[c]) for c in columns] for row in table.rows],
        **chart,
    )


# --- Funnel -------------------------------------------------------------------------------------


def funnel_table(data: queries.Funnel, options: Options) -> Table:
    share = (lambda n: _pct(n / data.total)) if data.total else (lambda n: "")
    rows = [
        [gettext("Created"), data.total, share(data.total)],
        [gettext("Reached qualified"), data.reached_qualified, share(data.reached_qualified)],
        [gettext("Reached converted"), data.reached_converted, share(data.reached_converted)],
    ]
    rows += [[gettext("Now %(status)s") % {"status": label.lower()}, n, share(n)] for _, label, n in data.by_status]
    return Table([gettext("Stage"), gettext("Leads"), gettext("Share of created (%)")], rows)


def _range(text: str, options: Options, **more) -> str:
    """A description (already translated) with the range's dates and any other values filled in."""
    return text.format(start=options.start, end=options.end, **more)


def funnel_chart(data: queries.Funnel, table: Table, options: Options) -> SafeString:
    return _table_hbars(
        table,
        columns=[1],
        series=[gettext("Leads")],
        slug="funnel",
        title=gettext("Lead funnel"),
        desc=_range(
            gettext(
                "Leads created {start} to {end}: {total}; reached qualified {qualified}; converted {converted}; "
                "then by current status."
            ),
            options,
            total=data.total,
            qualified=data.reached_qualified,
            converted=data.reached_converted,
        ),
    )


# --- Sources over time --------------------------------------------------------------------------


def _bucket_label(day: date, unit: str) -> str:
    return day.strftime("%Y-%m") if unit == "month" else day.isoformat()


UNIT_COLUMNS = {"day": _("Day"), "week": _("Week starting"), "month": _("Month")}
UNIT_TITLES = {
    "day": _("Leads by source per day"),
    "week": _("Leads by source per week"),
    "month": _("Leads by source per month"),
}


def sources_table(data: queries.SourceSeries, options: Options) -> Table:
    rows = [
        [_bucket_label(bucket, data.unit), str(SOURCE_LABELS.get(source, source)), detail or str(NO_CHANNEL), n]
        for bucket, source, detail, n in data.rows
    ]
    return Table([str(UNIT_COLUMNS[data.unit]), gettext("Source"), gettext("Channel"), gettext("Leads")], rows)


def sources_chart(data: queries.SourceSeries, table: Table, options: Options) -> SafeString:
    totals = data.by_source()
    sources = Lead.Source.values
    return column_chart(
        slug="sources",
        title=str(UNIT_TITLES[data.unit]),
        desc=_range(
            gettext(
                "New leads from {start} to {end} per {unit}, stacked by source; the table view splits each "
                "source by channel."
            ),
            options,
            unit=data.unit,
        ),
        categories=[_bucket_label(b, data.unit) for b in data.buckets],
        series=[str(SOURCE_LABELS[s]) for s in sources],
        values=[[totals.get((bucket, source), 0) for source in sources] for bucket in data.buckets],
    )


# --- Conversion by source -----------------------------------------------------------------------


def _outcome_header(first: str) -> list[str]:
    return [first, gettext("Leads"), gettext("Converted"), gettext("Lost")]


def conversion_table(data: list[queries.Outcome], options: Options) -> Table:
    rows = [
        [str(SOURCE_LABELS.get(o.name, o.name)), o.leads, o.won, o.lost, _pct(o.conversion_rate), _pct(o.win_rate)]
        for o in data
    ]
    return Table(
        _outcome_header(gettext("Source")) + [gettext("Conversion rate (%)"), gettext("Won of decided (%)")], rows
    )


def conversion_chart(data: list[queries.Outcome], table: Table, options: Options) -> SafeString:
    return _table_hbars(
        table,
        columns=[4, 5],
        series=[gettext("Conversion rate"), gettext("Won of decided")],
        fmt=_fmt_pct,
        axis_max=100,
        slug="conversion",
        title=gettext("Conversion rate by source"),
        desc=_range(
            gettext(
                "Of the leads created {start} to {end}, per source: the share converted, and the share won of "
                "those decided (converted or lost)."
            ),
            options,
        ),
    )


# --- Won vs lost by grade -----------------------------------------------------------------------


def grades_table(data: list[queries.Outcome], options: Options) -> Table:
    rows = [[_grade(o.name), o.leads, o.won, o.lost, _pct(o.win_rate)] for o in data]
    return Table(_outcome_header(gettext("Grade")) + [gettext("Won of decided (%)")], rows)


def grades_chart(data: list[queries.Outcome], table: Table, options: Options) -> SafeString:
    return _table_hbars(
        table,
        columns=[2, 3],
        series=[gettext("Converted"), gettext("Lost")],
        slug="grades",
        title=gettext("Won versus lost by grade"),
        desc=_range(
            gettext(
                "Of the leads created {start} to {end}, per grade: how many converted and how many were lost. "
                "A useful score converts more of its A leads than its D leads."
            ),
            options,
        ),
    )


# --- Score distribution -------------------------------------------------------------------------


def scores_table(data: queries.ScoreHistogram, options: Options) -> Table:
    if not options.by_grade:
        return Table(
            [gettext("Score"), gettext("Leads")], [[score_bucket_label(b), data.total(b)] for b in range(SCORE_BUCKETS)]
        )
    rows = [
        [score_bucket_label(b), _grade(g), data.counts.get((b, g), 0)]
        for b in range(SCORE_BUCKETS)
        for g in GRADES
        if data.counts.get((b, g))
    ]
    return Table([gettext("Score"), gettext("Grade"), gettext("Leads")], rows)


def scores_chart(data: queries.ScoreHistogram, table: Table, options: Options) -> SafeString:
    labels = [score_bucket_label(b) for b in range(SCORE_BUCKETS)]
    if options.by_grade:
        series = [_grade(g) for g in GRADES]
        values = [[data.counts.get((b, g), 0) for g in GRADES] for b in range(SCORE_BUCKETS)]
        title = gettext("Score distribution by grade")
        desc = gettext("Leads created {start} to {end} per score band of 10, stacked by grade.")
    else:
        series, values = [gettext("Leads")], [[data.total(b)] for b in range(SCORE_BUCKETS)]
        title, desc = gettext("Score distribution"), gettext("Leads created {start} to {end} per score band of 10.")
    return column_chart(
        slug="scores",
        title=title,
        desc=_range(desc, options),
        categories=labels,
        series=series,
        values=values,
    )


# --- Speed to lead ------------------------------------------------------------------------------


def speed_table(data, options: Options) -> Table:
    groups = ((gettext("Rep"), data.reps), (gettext("Team"), data.teams))
    rows = [
        [
            group,
            row.name,
            row.assignments,
            row.contacted,
            _minutes(row.median),
            _minutes(row.p90),
            _pct(row.within_sla_share),
        ]
        for group, rows_ in groups
        for row in rows_
    ]
    header = [
        _("Group"),
        _("Name"),
        _("Assignments"),
        _("Contacted"),
        _("Median (min)"),
        _("p90 (min)"),
        _("Within SLA (%)"),
    ]
    return Table([str(h) for h in header], rows)


def speed_chart(data, table: Table, options: Options) -> SafeString:
    return _table_hbars(
        table,
        columns=[4, 5],
        label=lambda row: f"{row[0]}: {row[1]}",
        series=[gettext("Median"), gettext("p90")],
        fmt=_fmt_min,
        slug="speed",
        title=gettext("Speed to lead"),
        desc=_range(
            gettext(
                "Time from assignment to first contact for the assignments made {start} to {end}: median and "
                "90th percentile per rep and per team, in minutes."
            ),
            options,
        ),
    )


# --- Agents' load -------------------------------------------------------------------------------


def load_table(data: list[queries.AgentLoad], options: Options) -> Table:
    rows = [
        [
            a.username,
            ", ".join(a.teams),
            a.open_leads,
            "" if a.capacity is None else a.capacity,
            a.over_by or "",
            a.new_today,
            "" if a.daily_limit is None else a.daily_limit,
            a.status,
        ]
        for a in data
    ]
    header = [
        _("Agent"),
        _("Teams"),
        _("Open leads"),
        _("Capacity"),
        _("Over capacity by"),
        _("New today"),
        _("Daily limit"),
        _("Now"),
    ]
    return Table([str(h) for h in header], rows)


def over_capacity_warning(data: list[queries.AgentLoad]) -> SafeString:
    """A visible warning naming every agent whose open leads exceed their capacity."""
    over = [a for a in data if a.over_by]
    if not over:
        return SafeString("")
    names = format_html_join(", ", "{} ({} of {})", ((a.username, a.open_leads, a.capacity) for a in over))
    return format_html(
        '<p class="alert alert-warning py-2 small" role="alert" data-testid="over-capacity">{} {}</p>',
        gettext("Over capacity:"),
        names,
    )


def load_chart(data: list[queries.AgentLoad], table: Table, options: Options) -> SafeString:
    chart = _table_hbars(
        table,
        columns=[2, 3],
        series=[gettext("Open leads"), gettext("Capacity")],
        slug="load",
        title=gettext("Agents' load and capacity"),
        desc=gettext("Each agent's open leads right now against their capacity (no bar: no limit set)."),
    )
    return over_capacity_warning(data) + chart


# --- The list -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    summary: str
    query: Callable[..., Any]
    table: Callable[[Any, Options], Table]
    chart: Callable[[Any, Table, Options], SafeString]
    marketers: bool = False  # marketers may see it too (lead sources and what they bring)
    dated: bool = True  # False: a snapshot of now; the date range does not apply


DASHBOARDS: dict[str, Dashboard] = {
    d.slug: d
    for d in (
        Dashboard(
            "funnel",
            _("Funnel"),
            _("Leads created in the range by status, and how many reached qualified and converted."),
            queries.dashboard_funnel,
            funnel_table,
            funnel_chart,
        ),
        Dashboard(
            "sources",
            _("Sources over time"),
            _("New leads per day, week or month by source and channel."),
            queries.dashboard_sources,
            sources_table,
            sources_chart,
            marketers=True,
        ),
        Dashboard(
            "conversion",
            _("Conversion by source"),
            _("Converted of all, and won versus lost, per source."),
            queries.dashboard_conversion,
            conversion_table,
            conversion_chart,
            marketers=True,
        ),
        Dashboard(
            "speed",
            _("Speed to lead"),
            _("Median and p90 time to first contact per rep and team, and the share within SLA."),
            queries.dashboard_speed,
            speed_table,
            speed_chart,
        ),
        Dashboard(
            "load",
            _("Agents' load"),
            _("Open leads against capacity, right now."),
            queries.dashboard_load,
            load_table,
            load_chart,
            dated=False,
        ),
        Dashboard(
            "scores",
            _("Score distribution"),
            _("Leads per score band of 10, optionally by grade."),
            queries.dashboard_scores,
            scores_table,
            scores_chart,
        ),
        Dashboard(
            "grades",
            _("Won versus lost by grade"),
            _("Whether the grade predicts: converted and lost per grade."),
            queries.dashboard_grades,
            grades_table,
            grades_chart,
        ),
    )
}


def dashboards_for(*, user) -> list[Dashboard]:
    """The dashboards the user may open, in menu order."""
    return [d for d in DASHBOARDS.values() if can_open_dashboard(user, for_marketers=d.marketers)]


@dataclass(frozen=True)
class Rendered:
    dashboard: Dashboard
    table: Table
    svg: SafeString | None


def dashboard_build(*, dashboard: Dashboard, user, options: Options, chart: bool = True) -> Rendered:
    """The dashboard's numbers (cached aggregate) as a table and, unless chart=False, its SVG."""
    data = dashboard.query(user=user, start=options.start, end=options.end, team=options.team)
    table = dashboard.table(data, options)
    return Rendered(dashboard=dashboard, table=table, svg=dashboard.chart(data, table, options) if chart else None)
