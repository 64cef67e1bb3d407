"""Timestamps on a UTC connection are parsed by psycopg's C loader (leads.common.pgloaders) and
are exactly the values Django's own loader gives: the same instant, `datetime.UTC` as tzinfo."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from leads.common.pgloaders import C_LOADER, uses_c_loader
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's loaders are PostgreSQL's"),
]


def test_a_utc_connection_reads_times_with_the_c_loader_and_django_keeps_it():
    assert C_LOADER is not None  # psycopg[binary] is what requirements.txt installs
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert uses_c_loader(connection)  # Django's per-cursor check did not register its own again


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05 10:00:00+00", datetime.datetime(2026, 1, 5, 10, 0, tzinfo=datetime.UTC)),
        ("2026-01-05 10:00:00.5+01", datetime.datetime(2026, 1, 5, 9, 0, 0, 500000, tzinfo=datetime.UTC)),
        ("2026-07-01 23:59:59.999999-07", datetime.datetime(2026, 7, 2, 6, 59, 59, 999999, tzinfo=datetime.UTC)),
        ("0001-01-01 00:00:00+00", datetime.datetime(1, 1, 1, tzinfo=datetime.UTC)),
    ],
)
def test_a_time_reads_as_the_same_instant_in_utc(text, expected):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", [text])
        (value,) = cursor.fetchone()
    assert value == expected
    assert value.tzinfo is datetime.UTC  # what Django's loader attaches, not zoneinfo's UTC


def test_a_leads_times_read_back_as_they_were_saved():
    lead = LeadFactory()
    moment = timezone.now().replace(microsecond=123456)
    Lead.objects.filter(pk=lead.pk).update(last_activity_at=moment)
    read = Lead.objects.values_list("created_at", "last_activity_at").get(pk=lead.pk)
    assert read[1] == moment
    assert read[0] == Lead.objects.get(pk=lead.pk).created_at
    assert all(value.tzinfo is datetime.UTC for value in read)
