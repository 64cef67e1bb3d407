"""Enrichment fills blanks with provenance, never overwrites a person, and runs in the pipeline."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from leads.common.timezones import zones_callable_now
from leads.enrichment.providers.base import LeadFacts, Provider, ProviderUnavailable, Suggestion
from leads.enrichment.service import enrichment_accept, leads_enrich
from leads.models import EnrichmentValue, Interaction, Lead
from tests.factories import CaptureRecordFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_blanks_are_filled_with_provenance_and_a_timeline_entry():
    lead = LeadFactory(
        email="jane@mail.acme-widgets.co.uk",
        company="",
        website="",
        phone="+442079460958",
        job_title="VP Sales",
        country="",
        time_zone="",
    )
    report = leads_enrich(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert report.changed == 1
    assert (lead.company, lead.website, lead.email_kind) == ("Acme Widgets", "https://acme-widgets.co.uk", "corporate")
    assert (str(lead.country), lead.time_zone, lead.city, lead.phone_line_type) == (
        "GB",
        "Europe/London",
        "London",
        "fixed",
    )
    assert (lead.seniority, lead.department) == ("vp", "sales")
    provenance = EnrichmentValue.objects.get(lead=lead, field="company")
    assert (provenance.provider, provenance.status, provenance.detail) == ("email", "applied", "from email domain")
    entry = lead.interactions.get(kind=Interaction.Kind.ENRICHMENT)
    assert entry.data["fields"]["company"]["to"] == "Acme Widgets"


def test_a_value_a_person_entered_is_never_overwritten_but_the_suggestion_is_shown(manager):
    lead = LeadFactory(email="jane@initech.com", company="Initech Europe GmbH", phone="+442079460958", country="FR")
    leads_enrich(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert lead.company == "Initech Europe GmbH"
    assert str(lead.country) == "FR"
    suggestion = EnrichmentValue.objects.get(lead=lead, field="country", status="suggested")
    assert suggestion.value == "GB"
    enrichment_accept(suggestion=suggestion, by=manager)
    lead.refresh_from_db()
    assert str(lead.country) == "GB"
    assert lead.interactions.filter(kind="update", actor=manager).exists()  # the change is audited


def test_re_enrichment_refreshes_only_what_enrichment_owns():
    lead = LeadFactory(email="ops@initech.com", company="", job_title="Engineer")
    leads_enrich(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert (lead.company, lead.seniority) == ("Initech", "individual")
    Lead.objects.filter(pk=lead.pk).update(company="Initech Inc.", job_title="Director of Engineering")
    leads_enrich(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert lead.company == "Initech Inc."  # a person changed it: theirs now
    assert lead.seniority == "director"  # still enrichment's: refreshed from the new title


def test_all_caps_names_are_fixed_even_though_a_person_typed_them():
    lead = LeadFactory(first_name="GRACE", last_name="HOPPER")
    leads_enrich(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert (lead.first_name, lead.last_name) == ("Grace", "Hopper")


def test_the_last_capture_ip_gives_the_country():
    lead = LeadFactory(email="x@gmail.com", country="", time_zone="")
    CaptureRecordFactory(channel="web_form", result="created", lead=lead, ip="81.2.69.142")
    leads_enrich(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert (str(lead.country), lead.time_zone) == ("GB", "Europe/London")


class DownProvider(Provider):
    name = "down"
    fills = ("industry",)

    def suggest(self, facts: LeadFacts) -> list[Suggestion]:
        raise ProviderUnavailable("timed out")


class IndustryProvider(Provider):
    name = "industry"
    fills = ("industry",)

    def suggest(self, facts: LeadFacts) -> list[Suggestion]:
        return [Suggestion("industry", "Software", 0.9, "test")]


def test_an_unavailable_provider_does_not_stop_the_others():
    lead = LeadFactory(industry="")
    report = leads_enrich(lead_ids=[lead.pk], providers=[DownProvider(), IndustryProvider()])
    lead.refresh_from_db()
    assert lead.industry == "Software"
    assert report.errors == ["down: timed out"]


def test_a_batch_is_set_based(django_assert_max_num_queries):
    ids = [LeadFactory(email=f"p{i}@initech.com", company="", job_title="CTO").pk for i in range(40)]
    with django_assert_max_num_queries(10):
        report = leads_enrich(lead_ids=ids)
    assert report.changed == 40


def test_enrich_leads_command_stale(settings):
    fresh = LeadFactory(email="a@initech.com", company="")
    old = LeadFactory(email="b@initech.com", company="")
    Lead.objects.filter(pk=fresh.pk).update(enriched_at=timezone.now())
    Lead.objects.filter(pk=old.pk).update(enriched_at=timezone.now() - timedelta(days=40))
    call_command("enrich_leads", "--stale", "30", "--sync")
    fresh.refresh_from_db()
    old.refresh_from_db()
    assert (fresh.company, old.company) == ("", "Initech")


@pytest.mark.django_db(transaction=True)
def test_the_pipeline_enriches_a_captured_lead_on_the_worker(celery_worker_live, api_as, manager):
    response = api_as(manager).post("/api/v1/capture", {"email": "cto@initech.com", "job_title": "CTO"}, format="json")
    lead_id = response.json()["lead"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and Lead.objects.get(pk=lead_id).processed_at is None:
        time.sleep(0.1)
    lead = Lead.objects.get(pk=lead_id)
    assert lead.processed_at is not None
    assert (lead.company, lead.seniority, lead.email_kind) == ("Initech", "c_level", "corporate")


def test_lead_page_shows_provenance_local_time_and_suggestions(client, manager):
    lead = LeadFactory(email="jane@initech.com", company="", phone="+442079460958", country="FR")
    leads_enrich(lead_ids=[lead.pk])
    client.force_login(manager)
    html = client.get(f"/leads/{lead.pk}").content.decode()
    assert "from email domain" in html
    assert "local, " in html  # e.g. "14:05 local, Tuesday"
    assert "Suggested by enrichment" in html and "accept" in html


def test_reps_queue_enrichment_from_the_lead_page(client, rep):
    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    response = client.post(f"/leads/{lead.pk}/enrich")
    assert response.status_code == 302


def test_callable_now_filter_uses_the_leads_own_clock(api_as, manager):
    # Monday 10:00 UTC: London is at work, Los Angeles is asleep.
    monday_ten = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    zones = zones_callable_now(now=monday_ten)
    assert "Europe/London" in zones and "America/Los_Angeles" not in zones
    london = LeadFactory(time_zone="Europe/London")
    with time_machine.travel(timezone.now(), tick=False):  # the request and the check see the same minute
        response = api_as(manager).get("/api/v1/leads", {"callable_now": "true"})
        assert response.status_code == 200
        ids = {row["id"] for row in response.json()["results"]}
        assert (london.pk in ids) == ("Europe/London" in zones_callable_now())
