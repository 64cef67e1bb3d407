"""objects_update: the set-based replacement of bulk_update used by enrichment."""
from datetime import UTC, datetime

import pytest

from leads.common.bulk import objects_update
from leads.models import Lead
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
