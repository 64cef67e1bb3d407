"""A small known data set for the dashboards: ten leads in a ten-day range, two outside it."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.cache import cache

from leads.models import Assignment, Interaction, Lead
from tests.factories import AgentFactory, AssignmentFactory, InteractionFactory, LeadFactory, TeamFactory

END = date(2026, 3, 20)
START = END - timedelta(days=9)
DAY1 = datetime.combine(END - timedelta(days=5), time(12), tzinfo=UTC)
DAY2 = datetime.combine(END - timedelta(days=2), time(12), tzinfo=UTC)
# Leads: (source, source_detail, status, score, grade, team, created_at)
LEADS = [
    ("web_form", "Pricing form", "new", 5, "D", "inside", DAY1),
    ("web_form", "Pricing form", "new", 5, "D", "inside", DAY1),
    ("web_form", "Pricing form", "active", 35, "C", "inside", DAY1),
    ("web_form", "Webinar", "qualified", 72, "B", "field", DAY1),
    ("web_form", "Pricing form", "converted", 100, "A", "field", DAY2),
    ("web_form", "Webinar", "converted", 85, "A", "inside", DAY2),
    ("web_form", "Pricing form", "lost", 15, "D", "inside", DAY2),
    ("web_form", "Pricing form", "lost", 60, "B", "inside", DAY2),  # qualified before it was lost
    ("email", "", "converted", 65, "B", "inside", DAY2),
    ("email", "", "lost", 40, "C", None, DAY2),
]


@pytest.fixture(autouse=True)
def _no_stale_cache(settings):
    """Each test starts with an empty dashboard cache (Redis db of this session) and without caching
    unless it turns it on."""
    settings.DASHBOARD_CACHE_SECONDS = 0
    cache.clear()
    yield
    cache.clear()


def make_lead(source, detail, status, score, grade, team, created_at, **extra) -> Lead:
    lead = LeadFactory(
        source=source,
        source_detail=detail,
        status=status,
        score=score,
        grade=grade,
        team=team,
        lost_reason="Too expensive" if status == "lost" else "",
        **extra,
    )
    Lead.objects.filter(pk=lead.pk).update(created_at=created_at)
    return lead


@pytest.fixture
def teams(team):
    return {"inside": team, "field": TeamFactory(name="Field Sales")}


@pytest.fixture
def dataset(teams, rep):
    """The ten leads, two outside the range, a rep with capacity and three assignments."""
    leads = [make_lead(*row[:5], teams[row[5]] if row[5] else None, row[6]) for row in LEADS]
    InteractionFactory(lead=leads[7], kind=Interaction.Kind.STATUS_CHANGE, data={"from": "active", "to": "qualified"})
    # Outside the range: the day before the start, and the first moment after the end.
    make_lead(
        "web_form",
        "Pricing form",
        "converted",
        90,
        "A",
        teams["inside"],
        datetime.combine(START, time(0), tzinfo=UTC) - timedelta(seconds=1),
    )
    make_lead(
        "chat", "", "new", 10, "D", teams["inside"], datetime.combine(END + timedelta(days=1), time(0), tzinfo=UTC)
    )
    Lead.objects.filter(pk__in=[leads[0].pk, leads[1].pk, leads[2].pk]).update(owner=rep)
    AgentFactory(user=rep, max_open_leads=10, max_new_per_day=5)
    assigned = DAY1
    for minutes in (10, 40, None):  # None: never contacted, the SLA ran out
        AssignmentFactory(
            lead=leads[0],
            agent=rep,
            team=teams["inside"],
            reason=Assignment.Reason.ROUND_ROBIN,
            assigned_at=assigned,
            sla_due_at=assigned + timedelta(minutes=30),
            first_contact_at=assigned + timedelta(minutes=minutes) if minutes is not None else None,
        )
    return leads
