"""Following the API's `next` links reaches every lead, whatever the count estimate says."""
import pytest
from django.db import connection

from leads.models import Lead
from leads.pagination import COUNT_EXACT_LIMIT
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads"


def test_next_links_reach_every_lead_when_the_estimated_count_is_far_too_low(api_as, manager):
    """The list once answered `count: 1001, count_exact: false` for 9,200 leads and gave `next`
    links only for the pages that estimate covered: an integration following `next` missed most leads."""
    total = 1_500
    Lead.objects.bulk_create([LeadFactory.build(score=0) for _ in range(total)], batch_size=500)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")  # the statistics now say no lead scores 77…
    Lead.objects.update(score=77)  # …and they go stale, as after a big import

    seen: list[int] = []
    url = f"{URL}?score_min=77&page_size=200"
    first = None
    while url:
        response = api_as(manager).get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        first = first or body
        seen += [lead["id"] for lead in body["results"]]
        url = body["next"]

    assert first["count_exact"] is False and first["count"] < total  # the estimate really is low
    assert first["count"] > COUNT_EXACT_LIMIT
    assert len(seen) == len(set(seen)) == total


def test_past_the_last_page_is_invalid_even_with_an_estimated_count(api_as, manager):
    Lead.objects.bulk_create([LeadFactory.build() for _ in range(COUNT_EXACT_LIMIT + 10)], batch_size=500)
    response = api_as(manager).get(f"{URL}?page_size=500&page=4")
    assert response.status_code == 404
    last = api_as(manager).get(f"{URL}?page_size=500&page=3").json()
    assert len(last["results"]) == 10 and last["next"] is None and last["previous"]
