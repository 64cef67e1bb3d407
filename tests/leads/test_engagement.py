"""The engagement summary follows events as they happen, and days leave the windows on time."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.engagement import engagement_add, engagement_roll_windows
from leads.models import Lead
from tests.factories import LeadFactory, TrackingSiteFactory

pytestmark = pytest.mark.django_db


def counters(lead: Lead) -> tuple:
    lead.refresh_from_db()
    return lead.page_views_7d, lead.page_views_30d, lead.visits_7d, lead.visits_30d, lead.form_submits


def test_events_add_to_the_windows_they_fall_in():
    lead = LeadFactory()
    today = timezone.localdate()
    engagement_add(lead_id=lead.pk, day=today, page_views=3, visits=1)
    engagement_add(lead_id=lead.pk, day=today - timedelta(days=10), page_views=2, visits=1)
    engagement_add(lead_id=lead.pk, day=today - timedelta(days=40), page_views=5, visits=2)
    engagement_add(lead_id=lead.pk, day=today, form_submits=1)
    assert counters(lead) == (3, 5, 1, 2, 1)


def test_rolling_the_windows_forgets_old_days_and_is_idempotent():
    lead = LeadFactory()
    today = timezone.localdate()
    engagement_add(lead_id=lead.pk, day=today - timedelta(days=6), page_views=4, visits=2)
    engagement_add(lead_id=lead.pk, day=today, page_views=1, visits=1)
    assert counters(lead)[:4] == (5, 5, 3, 3)
    two_days_later = today + timedelta(days=2)
    engagement_roll_windows(today=two_days_later)
    engagement_roll_windows(today=two_days_later)  # a second run changes nothing
    assert counters(lead)[:4] == (1, 5, 1, 3)


def test_a_form_capture_counts_as_a_form_submit(client, team):
    from leads.capture.service import CaptureContext, capture

    capture(data={"email": "f@example.com"}, context=CaptureContext(channel="web_form"))
    capture(data={"email": "f@example.com"}, context=CaptureContext(channel="web_form"))
    assert Lead.objects.get().form_submits == 2


def test_identified_visitors_page_views_count(team):
    from leads.capture.tracking import PageViewInput, page_view_record, visitor_identify, visitor_key_new

    site = TrackingSiteFactory(name="Site", key="site1")
    key = visitor_key_new()
    for path in ("/", "/pricing"):
        page_view_record(
            site=site,
            hit=PageViewInput(
                visitor_key=key,
                url=f"https://www.example.com{path}",
                title="",
                referrer="",
                client_time=None,
                consent=True,
            ),
        )
    lead = LeadFactory()
    visitor_identify(site_key="site1", visitor_key=key, lead=lead)
    assert counters(lead)[:4] == (2, 2, 1, 1)
    page_view_record(
        site=site,
        hit=PageViewInput(
            visitor_key=key, url="https://www.example.com/demo", title="", referrer="", client_time=None, consent=True
        ),
    )
    assert counters(lead)[:4] == (3, 3, 1, 1)  # same visit
