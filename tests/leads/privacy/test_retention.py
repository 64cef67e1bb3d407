"""The retention purge removes only what is older than its setting, set-based, every night."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings

from leads.models import CaptureRecord, Interaction, Lead, PageView, Visitor
from leads.privacy.retention import retention_purge
from tests.factories import (
    CaptureRecordFactory,
    InteractionFactory,
    LeadFactory,
    PageViewFactory,
    TrackingSiteFactory,
    VisitorFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2031, 6, 1, 3, 15, tzinfo=UTC)


@pytest.fixture
def retention(settings):
    settings.PRIVACY_RETAIN_CAPTURE_PAYLOAD_DAYS = 30
    settings.PRIVACY_RETAIN_EMAIL_BODY_DAYS = 60
    settings.PRIVACY_RETAIN_TRACKING_DAYS = 90
    settings.PRIVACY_RETAIN_LOST_LEADS_DAYS = 365
    settings.PRIVACY_RETAIN_UNCONVERTED_LEADS_DAYS = 0
    return settings


def _ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_only_what_is_older_than_its_setting_goes(retention):
    lead = LeadFactory(email="keep@retention.example")
    old_capture = CaptureRecordFactory(
        channel="web_form",
        result="created",
        received_at=_ago(31),
        payload={"email": "x@y.z"},
        ip="192.0.2.1",
        user_agent="UA",
        lead=lead,
    )
    new_capture = CaptureRecordFactory(
        channel="web_form",
        result="created",
        received_at=_ago(29),
        payload={"email": "x@y.z"},
        ip="192.0.2.1",
        lead=lead,
    )
    old_mail = CaptureRecordFactory(
        channel="email", result="attached", received_at=_ago(61), raw="From: a@b.c\r\n\r\nbody"
    )
    old_body = InteractionFactory(lead=lead, kind=Interaction.Kind.EMAIL_IN, occurred_at=_ago(61), body="old body")
    new_body = InteractionFactory(lead=lead, kind=Interaction.Kind.EMAIL_IN, occurred_at=_ago(59), body="new body")
    note = InteractionFactory(lead=lead, kind=Interaction.Kind.NOTE, occurred_at=_ago(400), body="a note stays")
    site = TrackingSiteFactory(name="s", key="s")
    known = VisitorFactory(site=site, visitor_key="k" * 32, lead=lead, last_seen_at=_ago(91))
    anonymous_old = VisitorFactory(site=site, visitor_key="a" * 32, last_seen_at=_ago(91))
    anonymous_new = VisitorFactory(site=site, visitor_key="b" * 32, last_seen_at=_ago(89))
    PageViewFactory(site=site, visitor=known, url="https://e.x/old", occurred_at=_ago(91))
    new_view = PageViewFactory(site=site, visitor=known, url="https://e.x/new", occurred_at=_ago(89))
    old_entry = InteractionFactory(lead=lead, kind=Interaction.Kind.PAGE_VIEW, occurred_at=_ago(91))
    lost_old = LeadFactory(status=Lead.Status.LOST, lost_reason="budget")
    lost_new = LeadFactory(status=Lead.Status.LOST, lost_reason="budget")
    quiet = LeadFactory(status=Lead.Status.NEW)
    Lead.objects.filter(pk__in=[lost_old.pk, quiet.pk]).update(updated_at=_ago(366))
    Lead.objects.filter(pk=lost_new.pk).update(updated_at=_ago(364))
    CaptureRecordFactory(channel="web_form", result="created", received_at=_ago(1), lead=lost_old)

    with time_machine.travel(NOW, tick=False):
        counts = retention_purge()

    old_capture.refresh_from_db()
    assert (old_capture.payload, old_capture.ip, old_capture.user_agent) == ({}, None, "")
    assert CaptureRecord.objects.get(pk=new_capture.pk).payload == {"email": "x@y.z"}
    assert CaptureRecord.objects.get(pk=old_mail.pk).raw == ""
    assert (
        Interaction.objects.get(pk=old_body.pk).body == ""
        and Interaction.objects.get(pk=new_body.pk).body == "new body"
    )
    assert Interaction.objects.get(pk=note.pk).body == "a note stays"
    assert set(PageView.objects.values_list("pk", flat=True)) == {new_view.pk}
    assert not Interaction.objects.filter(pk=old_entry.pk).exists()
    assert set(Visitor.objects.values_list("pk", flat=True)) == {known.pk, anonymous_new.pk}
    assert (
        not Lead.objects.filter(pk=lost_old.pk).exists()
        and not CaptureRecord.objects.filter(lead_id=lost_old.pk).exists()
    )
    assert Lead.objects.filter(pk__in=[lost_new.pk, quiet.pk, lead.pk]).count() == 3  # unconverted: off by default
    assert counts["lost_leads"] == 1 and counts["page_views"] == 1 and counts["visitors"] == 1
    assert anonymous_old.pk not in set(Visitor.objects.values_list("pk", flat=True))

    with time_machine.travel(NOW, tick=False):  # the next night finds nothing more
        again = retention_purge()
    assert set(again.values()) == {0}


def test_unconverted_leads_go_when_a_retention_is_set(retention):
    retention.PRIVACY_RETAIN_UNCONVERTED_LEADS_DAYS = 180
    quiet = LeadFactory(status=Lead.Status.NURTURING)
    busy = LeadFactory(status=Lead.Status.NURTURING)
    won = LeadFactory(status=Lead.Status.CONVERTED)
    Lead.objects.filter(pk__in=[quiet.pk, won.pk]).update(updated_at=_ago(181))
    Lead.objects.filter(pk=busy.pk).update(updated_at=_ago(179))
    with time_machine.travel(NOW, tick=False):
        assert retention_purge()["unconverted_leads"] == 1
    assert set(Lead.objects.values_list("pk", flat=True)) == {busy.pk, won.pk}


def test_zero_keeps_for_ever(retention):
    retention.PRIVACY_RETAIN_CAPTURE_PAYLOAD_DAYS = 0
    record = CaptureRecordFactory(channel="api", result="created", received_at=_ago(5000), payload={"a": 1})
    with time_machine.travel(NOW, tick=False):
        assert "capture_payloads" not in retention_purge()
    assert CaptureRecord.objects.get(pk=record.pk).payload == {"a": 1}


def test_the_purge_runs_nightly_from_beat():
    from leadcrm.celery import app

    entry = django_settings.CELERY_BEAT_SCHEDULE["privacy-retention-purge"]
    assert entry["task"] == "leads.privacy.tasks.retention_purge_task"
    app.loader.import_default_modules()
    assert "leads.privacy.tasks.retention_purge_task" in app.tasks
    assert "leads.privacy.tasks.erasure_recheck_task" in app.tasks
