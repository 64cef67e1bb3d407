"""objects_update: the set-based replacement of bulk_update used by enrichment; statistics_refresh."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from leads.common.bulk import STATISTICS_GROWTH, STATISTICS_MIN_PAGES, objects_update, statistics_refresh
from leads.models import Lead
from leads.services import lead_bulk_set_status
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db


def test_it_writes_each_objects_own_values_of_every_column_type(django_assert_num_queries):
    owner = RepFactory()
    leads = [LeadFactory(first_name="old", do_not_contact=False) for _ in range(3)]
    untouched = LeadFactory(first_name="keep")
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    for n, lead in enumerate(leads):
        lead.first_name = f"Ann {n} O'Neil"
        lead.do_not_contact = n == 1
        lead.enriched_at = when
        lead.attributes = {"n": n, "quote": "it's"}
        lead.country = "DE" if n else ""
        lead.owner = owner if n == 2 else None
        lead.score = 10 * n
    with django_assert_num_queries(1):
        updated = objects_update(
            objects=leads,
            fields=["first_name", "do_not_contact", "enriched_at", "attributes", "country", "owner", "score"],
        )
    assert updated == 3
    for n, lead in enumerate(leads):
        stored = Lead.objects.get(pk=lead.pk)
        assert stored.first_name == f"Ann {n} O'Neil"
        assert stored.do_not_contact is (n == 1)
        assert stored.enriched_at == when
        assert stored.attributes == {"n": n, "quote": "it's"}
        assert stored.country == ("DE" if n else "")
        assert stored.owner_id == (owner.pk if n == 2 else None)
        assert stored.score == 10 * n
    assert Lead.objects.get(pk=untouched.pk).first_name == "keep"


def test_batches_split_the_statement(django_assert_num_queries):
    leads = [LeadFactory() for _ in range(5)]
    for lead in leads:
        lead.city = "Lyon"
    with django_assert_num_queries(3):
        assert objects_update(objects=leads, fields=["city"], batch_size=2) == 5
    assert Lead.objects.filter(city="Lyon").count() == 5


def _lead_table() -> tuple[float, int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples, relpages, pg_relation_size(oid) / current_setting('block_size')::int FROM pg_class "
            "WHERE oid = 'leads_lead'::regclass"
        )
        return cursor.fetchone()


def _grow_lead_table_past_its_statistics() -> None:
    _, known, pages = _lead_table()
    n = 0
    while pages < max(STATISTICS_MIN_PAGES, known * STATISTICS_GROWTH) + 1:
        Lead.objects.bulk_create([Lead(email=f"stats{n + i}@example.com", first_name="Stats") for i in range(500)])
        n += 500
        _, _, pages = _lead_table()


def test_a_table_grown_past_its_statistics_is_analyzed_once():
    _grow_lead_table_past_its_statistics()
    assert statistics_refresh(Lead) == ["leads_lead"]
    reltuples, relpages, pages = _lead_table()
    assert reltuples >= Lead.objects.count() * 0.9 and relpages == pages
    assert statistics_refresh(Lead) == []  # true now: no second ANALYZE
    # The FK check's plan itself is not asserted: on a table this small the primary key and
    # another index on id cost the same, and the planner's tie goes either way between runs.


def test_a_small_table_is_left_alone(django_assert_num_queries):
    LeadFactory()
    with django_assert_num_queries(1):  # the catalog look-up only
        assert statistics_refresh(Lead) == []


def test_a_bulk_status_change_plans_its_foreign_key_checks_on_true_statistics(manager):
    _grow_lead_table_past_its_statistics()
    assert lead_bulk_set_status(leads=Lead.objects.all(), status="nurturing", by=manager) == Lead.objects.count()
    assert statistics_refresh(Lead) == []  # the bulk change took the statistics itself


def test_objects_insert_writes_every_column_and_ignores_conflicts_when_asked(django_assert_num_queries):
    from leads.common.bulk import objects_insert
    from leads.models import AutomationRun, Interaction
    from tests.factories import AutomationFactory

    lead, actor = LeadFactory(), RepFactory()
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    entries = [
        Interaction(
            lead_id=lead.pk,
            kind=Interaction.Kind.NOTE,
            actor=actor if n else None,
            occurred_at=when,
            subject=f"it's {n}",
            data={"n": n, "quote": "it's", "nested": [1, {"a": None}]},
        )
        for n in range(3)
    ]
    with django_assert_num_queries(1):
        assert objects_insert(objects=entries) == 3
    stored = list(Interaction.objects.filter(lead=lead, kind=Interaction.Kind.NOTE).order_by("pk"))
    assert [(e.subject, e.data["n"], e.actor_id, e.occurred_at, e.body) for e in stored] == [
        ("it's 0", 0, None, when, ""),
        ("it's 1", 1, actor.pk, when, ""),
        ("it's 2", 2, actor.pk, when, ""),
    ]
    assert stored[0].data == {"n": 0, "quote": "it's", "nested": [1, {"a": None}]}
    automation = AutomationFactory()
    run = lambda: AutomationRun(automation_id=automation.pk, lead_id=lead.pk, trigger_event="manual", trigger_key="k")  # noqa: E731
    assert objects_insert(objects=[run()], ignore_conflicts=True) == 1
    assert objects_insert(objects=[run()], ignore_conflicts=True) == 0  # automation_run_once
    assert AutomationRun.objects.get().status == "pending"
