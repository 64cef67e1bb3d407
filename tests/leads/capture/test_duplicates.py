"""Managers merge possible duplicates: atomic, nothing lost, recorded on the timeline."""

import pytest

from leads.capture.duplicates import lead_merge
from leads.models import CaptureRecord, Consent, Interaction, Lead, PossibleDuplicate
from tests.factories import (
    CaptureRecordFactory,
    ConsentFactory,
    CustomerFactory,
    InteractionFactory,
    LeadFactory,
    PossibleDuplicateFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(rep):
    keep = LeadFactory(
        email="john@acme.io",
        first_name="John",
        last_name="",
        company="",
        phone="",
        attributes={"plan": "pro"},
        tags=["a"],
        owner=rep,
    )
    merge = LeadFactory(
        email="john+events@acme.io",
        first_name="Johnny",
        last_name="Smith",
        company="Acme",
        phone="+442079460958",
        attributes={"plan": "free", "seats": 3},
        tags=["b"],
    )
    InteractionFactory(lead=merge, subject="Webinar attended")
    CaptureRecordFactory(channel="webhook", result="created", lead=merge)
    ConsentFactory(lead=merge, text="OK to email")
    duplicate = PossibleDuplicateFactory(lead=keep, other=merge, reason="plus_tag")
    return keep, merge, duplicate


def test_merge_keeps_everything_on_one_lead(pair, manager):
    keep, merge, duplicate = pair
    merged_id = merge.pk
    kept = lead_merge(keep=keep, merge=merge, by=manager)
    assert not Lead.objects.filter(pk=merged_id).exists()
    assert (kept.first_name, kept.last_name, kept.company, kept.phone) == ("John", "Smith", "Acme", "+442079460958")
    assert kept.email == "john@acme.io"
    assert kept.attributes == {"plan": "pro", "seats": 3}  # the kept lead's value wins a clash
    assert kept.tags == ["a", "b"]
    assert kept.interactions.filter(subject="Webinar attended").exists()
    assert CaptureRecord.objects.filter(lead=kept).count() == 1
    assert Consent.objects.filter(lead=kept).count() == 1
    record = kept.interactions.get(kind=Interaction.Kind.MERGE)
    assert record.actor == manager and record.data["merged_lead"] == merged_id
    assert record.data["merged_values"]["email"] == "john+events@acme.io"
    assert not PossibleDuplicate.objects.filter(pk=duplicate.pk).exists()  # resolved; the timeline keeps the story


def test_the_manager_picks_values(pair, manager):
    keep, merge, _ = pair
    kept = lead_merge(keep=keep, merge=merge, by=manager, picks={"first_name": "merge", "email": "merge"})
    assert (kept.first_name, kept.email) == ("Johnny", "john+events@acme.io")


def test_the_customer_follows_the_merged_lead(pair, manager):
    keep, merge, _ = pair
    customer = CustomerFactory(name="John Smith", lead=merge)
    lead_merge(keep=keep, merge=merge, by=manager)
    customer.refresh_from_db()
    assert customer.lead_id == keep.pk


def test_the_merge_page_is_for_managers(client, pair, rep, manager):
    keep, merge, duplicate = pair
    client.force_login(rep)
    assert client.get("/duplicates").status_code == 403
    assert client.post(f"/duplicates/{duplicate.pk}", {"action": "merge"}).status_code == 403
    client.force_login(manager)
    listing = client.get("/duplicates")
    assert b"Same email without its +tag" in listing.content
    page = client.get(f"/duplicates/{duplicate.pk}")
    assert page.status_code == 200 and b"Johnny" in page.content
    response = client.post(f"/duplicates/{duplicate.pk}", {"action": "merge", "keep": "other", "pick_company": "other"})
    assert response.status_code == 302
    assert Lead.objects.get().pk == merge.pk  # the manager chose to keep the other one


def test_not_a_duplicate_is_remembered(client, pair, manager):
    _, _, duplicate = pair
    client.force_login(manager)
    client.post(f"/duplicates/{duplicate.pk}", {"action": "dismiss"})
    duplicate.refresh_from_db()
    assert duplicate.status == "dismissed"
    assert Lead.objects.count() == 2
    assert client.get(f"/duplicates/{duplicate.pk}").status_code == 404


def test_the_duplicate_checks_use_their_indexes():
    """Regression: the +tag check filtered on email_base alone, so PostgreSQL could not use the
    partial index lead_email_base_idx (WHERE email <> '') and read the whole lead table on every
    capture (24 ms at 175,000 leads, growing with the table). The look-ups are prepared statements
    now: their generic plan, which PostgreSQL may settle on after five runs, must use the index too
    (with the index's condition as a parameter it read the whole table)."""
    from django.db import connection

    from leads.capture.duplicates import duplicates_detect

    Lead.objects.bulk_create(
        Lead(email=f"person{i}@example{i % 50}.com", first_name="P", last_name=f"L{i}") for i in range(3000)
    )
    LeadFactory(email="jane.roe@initech.com", first_name="Jane", last_name="Roe", phone="+442079460958")
    lead = LeadFactory(email="jane.roe+news@initech.com", first_name="Jane", last_name="Roe", phone="+442079460958")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
    statements = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        found = duplicates_detect(lead=lead)
    assert len(found) == 1  # the same phone, +tag and name: one pair, for the first rule that found it
    selects = [(sql, params) for sql, params in statements if sql.startswith("SELECT")]
    expected = ["lead_phone_idx", "lead_email_base_idx", "lead_domain_name_idx"]  # same phone, +tag, name at the domain
    assert len(selects) == len(expected)
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            for number, ((sql, params), index) in enumerate(zip(selects, expected, strict=True)):
                numbered = sql
                for n in range(1, len(params) + 1):
                    numbered = numbered.replace("%s", f"${n}", 1)
                cursor.execute(f"PREPARE generic_{number} AS {numbered}")
                cursor.execute(f"EXPLAIN EXECUTE generic_{number}({', '.join(['%s'] * len(params))})", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                cursor.execute(f"DEALLOCATE generic_{number}")
                assert f"Index Scan using {index}" in plan or f"Bitmap Index Scan on {index}" in plan, f"{sql}\n{plan}"
        finally:
            cursor.execute("RESET plan_cache_mode")
