"""Date filters take any ISO 8601 offset: the value reaches PostgreSQL in UTC."""

import pytest

from leads.filters import DATETIME_OUT_OF_RANGE
from tests.factories import CustomerFactory, LeadFactory

pytestmark = pytest.mark.django_db

ODD_OFFSET = "2009-10-13T04:04:54+16:41"
LISTS = ["/", "/customers/", "/api/v1/leads", "/api/v1/customers"]


@pytest.mark.parametrize("url", LISTS)
def test_an_offset_postgresql_cannot_hold_filters_like_any_other(url, client, api_as, manager):
    """Broke: created_after=2009-10-13T04:04:54+16:41 reached PostgreSQL as is ("time zone displacement
    out of range"), a 500 on every list, API and HTML."""
    LeadFactory()
    CustomerFactory()
    client.force_login(manager)
    web = url.startswith("/api/") and api_as(manager) or client
    for name in ("created_after", "created_before"):
        response = web.get(url, {name: ODD_OFFSET})
        assert response.status_code == 200, (url, name)


@pytest.mark.parametrize("url", ["/api/v1/leads", "/api/v1/customers"])
def test_a_date_beyond_the_calendar_in_utc_is_a_400_with_the_fields_message(url, api_as, manager):
    response = api_as(manager).get(url, {"created_after": "0001-01-01T00:00:00+05:00"})
    assert response.status_code == 400
    assert response.json()["created_after"] == [DATETIME_OUT_OF_RANGE]


def test_the_html_list_shows_the_message_instead_of_failing(client, manager):
    client.force_login(manager)
    response = client.get("/", {"created_after": "9999-12-31T23:59:59-10:00"})
    assert response.status_code in (200, 400)
    assert DATETIME_OUT_OF_RANGE in response.content.decode()
