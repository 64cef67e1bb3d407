"""The year-ahead check really moves the clock (`make test-clock-ahead`, LEADCRM_TEST_CLOCK_SHIFT_DAYS)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.conftest import CLOCK_SHIFT_DAYS

pytestmark = pytest.mark.django_db


def test_python_clock_is_the_database_clock_moved_by_the_configured_shift():
    with connection.cursor() as cursor:
        cursor.execute("SELECT CURRENT_TIMESTAMP")
        database_now = cursor.fetchone()[0]
    # PostgreSQL keeps the real time; Python's clock is moved by the shift (0 in a plain run).
    assert abs(timezone.now() - database_now - timedelta(days=CLOCK_SHIFT_DAYS)) < timedelta(minutes=5)
