"""The batch writer's helpers: a lead built by the positional constructor is the lead the keyword
constructor builds, and the row COPY writes is read from what the lead stores."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.common.copying import copy_values, instance_new
from leads.models import Lead
from tests.factories import UserFactory

VALUES = {
    "first_name": "Ada",
    "email": "ada@analytical.example",
    "country": "GB",
    "attributes": {"Budget": 10},
    "tags": ["vip"],
    "source": "import",
    "created_at": timezone.now() - timedelta(days=30),
}


def _state(lead: Lead) -> dict:
    return {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields if not f.generated}


def test_the_positional_constructor_builds_the_same_lead():
    fast, slow = instance_new(Lead, dict(VALUES)), Lead(**VALUES)
    assert _state(fast) == _state(slow)
    assert fast._state.adding and fast.pk is None
    assert str(fast.country.name) == "United Kingdom"


def test_mutable_defaults_are_not_shared_between_leads():
    first, second = instance_new(Lead, {"email": "a@x.example"}), instance_new(Lead, {"email": "b@x.example"})
    first.attributes["k"] = 1
    first.tags.append("t")
    assert (second.attributes, second.tags) == ({}, [])


@pytest.mark.django_db
def test_a_related_object_by_name_takes_the_keyword_constructor():
    owner = UserFactory()
    lead = instance_new(Lead, {"email": "c@x.example", "owner": owner})
    assert lead.owner_id == owner.pk


def test_copy_values_reads_the_stored_country_code():
    row = copy_values(instance_new(Lead, dict(VALUES)))
    assert row["country"] == "GB" and row["attributes"] == {"Budget": 10}
