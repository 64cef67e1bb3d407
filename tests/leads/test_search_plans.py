"""Issue 22 §1 in the global search: a rep with a few matches among many elsewhere.

"Visible to the rep" and "matches the term" are correlated (territories), the planner assumes they
are not, and for `LIMIT 50` it chose a scan that hopes to meet 50 visible matches early: for a rep
with 3 of 14,946 "gmbh" leads it read the whole table (3.3 s at a million leads). A rep's text
sample is now the visible ones among the term's matches in the table's last pages (no visibility in that sample, so
nothing to misjudge; visibility tested on the sample's own rows as they are read), and only if that gave fewer than the page
shows (11), a MATERIALIZED CTE planned without the
LIMIT (bitmaps bounded by the rep's book); the leads are then read by primary key.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead
from leads.search import lead_search, search_terms_parse
from tests.factories import LeadFactory, TeamFactory

pytestmark = pytest.mark.django_db


def _few_among_many(rep, other_rep, team) -> list[Lead]:
    Lead.objects.bulk_create(
        [
            LeadFactory.build(company=f"Muster {i} GmbH", owner=other_rep, team=team, email=f"m{i}@muster.de")
            for i in range(2000)
        ],
        batch_size=1000,
    )
    mine = [LeadFactory(company="Rep GmbH", owner=rep, team=team) for _ in range(3)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
    return mine


def test_a_reps_text_sample_is_planned_without_its_limit_and_read_by_id(rep, other_rep, team):
    mine = _few_among_many(rep, other_rep, team)
    rep = type(rep).objects.get(pk=rep.pk)
    with CaptureQueriesContext(connection) as queries:
        found = lead_search(user=rep, terms=search_terms_parse(term="gmbh"))
    assert sorted(lead.pk for lead in found) == sorted(lead.pk for lead in mine)
    sql = queries.captured_queries[-1]["sql"]
    assert "WITH m AS MATERIALIZED (" in sql and "AS candidates LIMIT 21" in sql  # the bounded sample, then the CTE
    assert "LIMIT 1000" in sql
    assert '"leads_lead"."id" = ANY(ARRAY(' in sql and "ORDER BY" not in sql
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "CTE m" in plan and "leads_lead_pkey" in plan, plan  # the outer read is by primary key
    # the sample reads the table's last pages, not the trigram bitmap of every match filtered by page
    sample_plan = plan.split("CTE m")[0]
    assert "Tid Range Scan" in sample_plan and "lead_search_trgm" not in sample_plan, plan
    assert "lead_created_idx" not in plan, plan
    # the sample is not joined back by id: the visibility test reads the sample's own columns
    assert "HashAggregate" not in plan and "Semi Join" not in plan, plan


def test_a_reps_sample_shows_only_what_the_rep_may_see(rep, other_rep, team):
    """The sample stands in for the lead table under visible_to's WHERE: another rep's leads and
    other teams' queues stay out; the rep's own and their team's unassigned leads are found."""
    elsewhere = TeamFactory(name="Elsewhere")
    mine = LeadFactory(company="Kiwi Ltd", owner=rep, team=team)
    queued = LeadFactory(company="Kiwi Two", owner=None, team=team)
    LeadFactory(company="Kiwi Three", owner=other_rep, team=team)
    LeadFactory(company="Kiwi Four", owner=None, team=elsewhere)
    rep = type(rep).objects.get(pk=rep.pk)
    found = lead_search(user=rep, terms=search_terms_parse(term="kiwi"))
    assert sorted(lead.pk for lead in found) == sorted([mine.pk, queued.pk])


def test_a_managers_sample_keeps_its_limit(manager, rep, other_rep, team):
    """A manager sees every match: the first 50 the scan meets are visible ones, no correlation."""
    _few_among_many(rep, other_rep, team)
    manager = type(manager).objects.get(pk=manager.pk)
    with CaptureQueriesContext(connection) as queries:
        found = lead_search(user=manager, terms=search_terms_parse(term="gmbh"))
    assert len(found) == 11  # limit + 1: "more" is shown
    sql = queries.captured_queries[-1]["sql"]
    assert "MATERIALIZED" not in sql and "LIMIT 50" in sql


def test_a_reps_common_term_fills_the_page_and_says_there_is_more(rep, other_rep, team):
    """A rep's candidates are what the page shows and one more: 11 for the results page, 6 for the
    dropdown, all the rep's own, whichever other matches lie in between."""
    for n in range(30):
        LeadFactory(job_title="Field Engineer", owner=other_rep, team=team, email=f"o{n}@x.example")
        LeadFactory(job_title="Sales Engineer", owner=rep, team=team, email=f"r{n}@x.example")
    rep = type(rep).objects.get(pk=rep.pk)
    page = lead_search(user=rep, terms=search_terms_parse(term="engineer"))
    dropdown = lead_search(user=rep, terms=search_terms_parse(term="engineer"), limit=5)
    assert (len(page), len(dropdown)) == (11, 6)
    assert {lead.owner_id for lead in page + dropdown} == {rep.pk}


def test_a_reps_matches_before_the_tail_are_found_and_none_twice(monkeypatch, rep, other_rep, team):
    """The sample reads the table's last pages only; the rep's matches before them come from the
    second branch, which repeats the sample's own: the page still gets 11 distinct leads."""
    from leads import search

    monkeypatch.setattr(search, "TAIL_PAGES", 1)
    early = [LeadFactory(company=f"Kiwi {n}", owner=rep, team=team) for n in range(10)]
    Lead.objects.bulk_create(
        [LeadFactory.build(company="Filler", owner=other_rep, team=team, email=f"f{n}@x.example") for n in range(400)]
    )
    late = [LeadFactory(company=f"Kiwi late {n}", owner=rep, team=team) for n in range(5)]
    rep = type(rep).objects.get(pk=rep.pk)
    found = lead_search(user=rep, terms=search_terms_parse(term="kiwi"))
    assert len(found) == len({lead.pk for lead in found}) == 11
    assert {lead.pk for lead in found} <= {lead.pk for lead in early + late}
    assert len(lead_search(user=rep, terms=search_terms_parse(term="kiwi late"))) == 5


def test_a_frequent_terms_estimate_comes_from_a_histogram_large_enough_to_hold_it(rep, team):
    """The page query's plan follows the planner's estimate of the term. With 100 histogram bounds
    a term in one lead of 70 matched none of them in some ANALYZE samples and was estimated at the
    floor (100 rows of a million), and the page read every match by bitmap (migration 0039)."""
    Lead.objects.bulk_create(
        [
            LeadFactory.build(
                first_name=f"Person{i}",
                company="Zorkmid Trading" if i % 70 == 0 else f"Company {i}",
                owner=rep,
                team=team,
                email=f"p{i}@example.com",
            )
            for i in range(7000)
        ],
        batch_size=1000,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'leads_lead'::regclass AND attname = 'search_text'"
        )
        assert cursor.fetchone()[0] == 1000
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("EXPLAIN (FORMAT json) SELECT id FROM leads_lead WHERE search_text LIKE '%%zorkmid%%'")
        estimate = cursor.fetchone()[0][0]["Plan"]["Plan Rows"]
    assert 30 <= estimate <= 300, estimate  # 100 true matches; the floor would be 1 (0.0001 of 7,000)
