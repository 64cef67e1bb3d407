"""The rank table (leads/models/rank.py): a copy of every lead's score, grade and probability, with
its status, team and owner, kept by triggers whatever wrote the lead; the orderings by score read
its indexes, and a rescore's rewrite of the lead row touches none of the lead's indexes."""

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, LeadRank, ScoringRule
from leads.scoring.service import leads_rescore
from tests.factories import LeadFactory, ScoringRuleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_rule():
    """One fit rule, no other: German leads get 60 points, others none."""
    ScoringRule.objects.all().delete()
    ScoringRuleFactory(name="German", group="fit", field="country", operator="equals", value="DE", points=60)
    cache.clear()


COPIED = ("status", "team_id", "owner_id", "score", "grade", "probability")


def _lead_values() -> dict[int, tuple]:
    return {row[0]: row[1:] for row in Lead.objects.order_by("pk").values_list("pk", *COPIED)}


def _rank_values() -> dict[int, tuple]:
    return {row[0]: row[1:] for row in LeadRank.objects.order_by("pk").values_list("lead_id", *COPIED)}


def test_every_write_to_a_lead_reaches_its_rank_row(rep, team):
    """Created one by one or in bulk, saved, updated in a queryset, deleted: the rank rows are
    the lead rows' ranked columns at every step."""
    one = LeadFactory(score=10, grade="D")
    Lead.objects.bulk_create([LeadFactory.build(score=40 + i, grade="C") for i in range(5)])
    assert _rank_values() == _lead_values() and len(_rank_values()) == 6

    one.owner, one.team, one.status, one.score, one.grade, one.probability = rep, team, "active", 91, "A", 0.7
    one.save()
    assert LeadRank.objects.values_list(*COPIED).get(lead=one) == (
        "active",
        team.pk,
        rep.pk,
        91,
        "A",
        0.7,
    )

    Lead.objects.exclude(pk=one.pk).update(score=F("score") + 1, status="nurturing", team=team)
    Lead.objects.filter(pk=one.pk).update(owner=None, probability=None)
    assert _rank_values() == _lead_values()

    doomed = list(Lead.objects.exclude(pk=one.pk).values_list("pk", flat=True)[:2])
    Lead.objects.filter(pk__in=doomed).delete()
    one.delete()
    assert _rank_values() == _lead_values() and len(_rank_values()) == 3

    if connection.vendor == "postgresql":  # a restore or a reload: TRUNCATE empties the copy too
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own pending foreign-key checks
            cursor.execute("TRUNCATE leads_lead CASCADE")
        assert not LeadRank.objects.exists()


def test_a_rescore_writes_both_tables_and_a_later_change_is_still_copied(team):
    """The rescore writes the rank rows itself with the trigger standing aside; the trigger is
    back for whatever the same transaction writes next."""
    leads = [LeadFactory(country="DE" if i % 2 else "FR", score=0, grade="", team=team) for i in range(6)]
    with transaction.atomic():
        result = leads_rescore(lead_ids=[lead.pk for lead in leads])
        assert result.scored == 6
        assert _rank_values() == _lead_values()
        german = {lead.pk for lead in leads if lead.country == "DE"}
        scores = {pk: values[3] for pk, values in _rank_values().items()}
        assert min(scores[pk] for pk in german) > max(score for pk, score in scores.items() if pk not in german)
        Lead.objects.filter(pk=leads[0].pk).update(score=77)  # same transaction, after the rescore
        assert LeadRank.objects.get(lead=leads[0]).score == 77


@pytest.mark.skipif(connection.vendor != "postgresql", reason="HOT updates are PostgreSQL's")
def test_a_rescore_rewrites_lead_rows_without_touching_their_indexes(team):
    """No index of the lead table holds a score column, and the table leaves room on each page:
    the rescore's rewrite of every changed lead is a HOT update (no new index entry)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'leads_lead'::regclass"
        )
        indexes = cursor.fetchall()
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = 'leads_lead'::regclass")
        (options,) = cursor.fetchone()
    for name, definition in indexes:
        columns = definition.split(" USING ", 1)[1]
        assert not any(word in columns for word in ("score", "grade", "probability")), (name, definition)
    assert "fillfactor=50" in (options or [])

    leads = Lead.objects.bulk_create([LeadFactory.build(country="DE", score=0, team=team) for _ in range(40)])
    ids = [lead.pk for lead in leads]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_tuples_updated('leads_lead'::regclass)")
        (updated_before,) = cursor.fetchone()
        cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated('leads_lead'::regclass)")
        (hot_before,) = cursor.fetchone()
        leads_rescore(id_ranges=[(min(ids), max(ids) + 1)])
        cursor.execute("SELECT pg_stat_get_xact_tuples_updated('leads_lead'::regclass)")
        (updated,) = cursor.fetchone()
        cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated('leads_lead'::regclass)")
        (hot,) = cursor.fetchone()
    assert updated - updated_before == 40
    # HOT, all but those on a page the table's earlier rows share, whose room their own updates
    # may have used up (one row of 40 in a run after the other tests).
    assert hot - hot_before >= 35
    assert 0 not in set(LeadRank.objects.filter(lead_id__in=ids).values_list("score", flat=True))
    assert _rank_values() == _lead_values()


def test_the_orderings_and_filters_by_score_read_the_rank_table(api_as, manager, team):
    """?ordering=-score, ?grade= and ?score_min= are answered from the rank rows (a stale copy
    would show here), in the same order and with the same leads as the lead rows say."""
    manager_client = api_as(manager)
    leads = [LeadFactory(score=score, grade=grade, team=team) for score, grade in ((90, "A"), (70, "B"), (20, "D"))]
    rows = manager_client.get("/api/v1/leads?ordering=-score").json()["results"]
    assert [row["id"] for row in rows] == [lead.pk for lead in leads]
    rows = manager_client.get("/api/v1/leads?grade=A,B&score_min=75").json()["results"]
    assert [row["id"] for row in rows] == [leads[0].pk]
    # The filters read the copy: a rank row out of step (only possible behind the triggers' back)
    # changes the answer, which is how this test knows.
    LeadRank.objects.filter(lead=leads[2]).update(score=99, grade="A")
    rows = manager_client.get("/api/v1/leads?grade=A&score_min=95").json()["results"]
    assert [row["id"] for row in rows] == [leads[2].pk]
    # A large result's page (past the 1,000 matches read by id) walks the rank table's index.
    Lead.objects.bulk_create([LeadFactory.build(score=i % 90, team=team) for i in range(1100)], batch_size=500)
    with CaptureQueriesContext(connection) as queries:
        rows = manager_client.get("/api/v1/leads?ordering=-score&page_size=3").json()["results"]
    assert rows[0]["id"] == leads[2].pk  # the stale copy's 99 first: the order came from the copy
    assert [row["score"] for row in rows[1:]] == [90, 89]
    assert any('ORDER BY "leads_leadrank"."score" DESC' in query["sql"] for query in queries.captured_queries)


def test_a_status_read_with_a_score_filter_says_its_status_on_the_rank_row(client, api_as, manager, team):
    """A board column or status tab filtered by grade or ordered by score names the status on the
    rank row too, so the rank table's (status, grade, score) indexes answer it (at a million leads
    a board column of new A/B leads otherwise walked every A and B lead: 300 ms); the answer is the
    same leads."""
    hot_new = LeadFactory(status="new", score=90, grade="A", team=team)
    LeadFactory(status="active", score=95, grade="A", team=team)
    LeadFactory(status="new", score=10, grade="D", team=team)
    client.force_login(manager)
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/board/", {"grade": "A,B", "ordering": "-score"}).content.decode()
    new_column = body.split('data-testid="column-new"')[1].split("</section>")[0]
    assert f'data-testid="card-{hot_new.pk}"' in new_column and new_column.count('data-testid="card-') == 1
    reads = [q["sql"] for q in queries.captured_queries if '"leads_leadrank"."grade" IN' in q["sql"]]
    assert reads and all('"leads_leadrank"."status"' in sql for sql in reads)
    rows = api_as(manager).get("/api/v1/leads?status=new&grade=A,B").json()["results"]
    assert [row["id"] for row in rows] == [hot_new.pk]
