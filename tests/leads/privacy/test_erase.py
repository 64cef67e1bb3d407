"""Erasing a person: no trace left in any table, other people's rows kept (redacted), one tombstone,
a record without personal data, and the tombstone refusing the address at every door."""

import pytest
from django.core.files.storage import default_storage

from customers.models import Customer
from leads.capture.service import CaptureContext, CaptureRejected, capture
from leads.models import CaptureRecord, ErasureTombstone, ImportJob, Interaction, Lead, PrivacyRequest
from leads.privacy import tombstones
from leads.privacy.erase import erasure_recheck, person_erase
from leads.privacy.mailable import lead_not_mailable_reason
from leads.privacy.person import REDACTED
from tests.factories import CustomerFactory, InteractionFactory, LeadFactory

from .traces import traces
from .world import EMAIL, FIRST, LAST, NEEDLES, PHONE, person_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(manager, rep, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return person_world(manager=manager, rep=rep)


def test_no_trace_of_the_person_is_left_in_any_table(world, manager, django_capture_on_commit_callbacks):
    before = traces(NEEDLES)
    # The search itself finds the person wherever the world put them (or it proves nothing).
    for table in (
        "leads_lead",
        "leads_interaction",
        "leads_capturerecord",
        "leads_inboundemail",
        "leads_task",
        "leads_notification",
        "customers_customer",
        "leads_webhookdelivery",
        "leads_call",
        "leads_steprun",
        "leads_outboundmessage",
        "leads_runstep",
        "leads_emailsuppression",
        "django_admin_log",
    ):
        assert table in before, table

    with django_capture_on_commit_callbacks(execute=True):
        record = person_erase(lead=world.lead, by=manager, via="page")

    assert traces(NEEDLES) == {}
    assert not default_storage.exists(world.job.file.name)
    assert ImportJob.objects.get(pk=world.job.pk).file.name == ""
    # The other person stays, with the mention of ours replaced.
    world.other.refresh_from_db()
    note = Interaction.objects.get(pk=world.other_note.pk)
    assert note.body == f"Olive forwarded this to {REDACTED} <{REDACTED}>."
    # The record says who, when and which tombstone, and nothing about the person.
    record.refresh_from_db()
    assert record.action == PrivacyRequest.Action.ERASE and record.actor == manager and record.via == "page"
    assert record.tombstone.digest == tombstones.email_digest(email=EMAIL) == record.subject_digest
    assert record.counts["leads"] == 1 and record.counts["customers"] == 1 and record.counts["captures"] >= 3
    assert record.counts["import_files"] == 1 and record.counts["page_views"] == 2


def test_erasing_by_address_finds_the_capture_held_apart_and_tombstones_it(manager, rep):
    """A capture that matched a lead its sender could not see was kept as a lead of its own, the
    address in its attributes: it is the same person."""
    lead = LeadFactory(email=EMAIL, first_name=FIRST, last_name=LAST, phone=PHONE)
    held = LeadFactory(
        email="", first_name=FIRST, last_name=LAST, attributes={"captured_email": EMAIL, "city": "Leeds"}
    )
    record = person_erase(email=EMAIL.upper(), by=manager, via="api")
    assert not Lead.objects.filter(pk__in=[lead.pk, held.pk]).exists()
    assert record.counts["leads"] == 2
    assert ErasureTombstone.objects.filter(digest=tombstones.email_digest(email=EMAIL)).count() == 1


def test_a_customer_shared_with_other_leads_stays_without_the_person(manager):
    customer = CustomerFactory(name=f"{FIRST} {LAST}", email=EMAIL, phone=PHONE, company="Shared Co")
    lead = LeadFactory(email=EMAIL, first_name=FIRST, last_name=LAST, phone=PHONE, converted_customer=customer)
    colleague = LeadFactory(email="colleague@shared.example", converted_customer=customer)
    person_erase(lead=lead, by=manager, via="page")
    customer.refresh_from_db()
    assert (customer.email, customer.phone, customer.name, customer.company) == ("", "", REDACTED, "Shared Co")
    assert Lead.objects.get(pk=colleague.pk).converted_customer_id == customer.pk
    assert Customer.objects.count() == 1


def test_erasing_twice_is_harmless(manager):
    lead = LeadFactory(email=EMAIL)
    person_erase(lead=lead, by=manager, via="page")
    again = person_erase(email=EMAIL, by=manager, via="api")
    assert again.counts["leads"] == 0
    assert ErasureTombstone.objects.count() == 1 and PrivacyRequest.objects.filter(action="erase").count() == 2


@pytest.mark.parametrize("typed", [EMAIL, f"  {EMAIL.upper()}  "])
def test_the_tombstone_refuses_a_new_capture_and_keeps_nothing_of_it(manager, typed):
    person_erase(email=EMAIL, by=manager, via="api")
    data = {"email": typed, "first_name": FIRST, "phone": PHONE}
    with pytest.raises(CaptureRejected) as refused:
        capture(
            data=data,
            context=CaptureContext(channel=Lead.Source.API, payload=data, ip="198.51.100.7", user_agent="curl"),
        )
    assert refused.value.message_dict == {"email": [tombstones.CAPTURE_REFUSED]}
    record = refused.value.record
    assert (record.result, record.reason) == (CaptureRecord.Result.REJECTED, tombstones.CAPTURE_REFUSED_REASON)
    assert (record.payload, record.raw, record.ip, record.user_agent) == ({}, "", None, "")
    assert not Lead.objects.exists()
    assert traces([EMAIL, PHONE, FIRST]) == {}


def test_the_capture_api_answers_400_for_an_erased_address(manager, api_as):
    person_erase(email=EMAIL, by=manager, via="api")
    response = api_as(manager).post("/api/v1/capture", {"email": EMAIL, "first_name": FIRST}, format="json")
    assert response.status_code == 400
    assert response.json()["email"] == [tombstones.CAPTURE_REFUSED]


def test_the_tombstone_stops_sending_to_a_lead_typed_in_by_hand(manager):
    person_erase(email=EMAIL, by=manager, via="api")
    lead = LeadFactory(bare=True, email=EMAIL, email_opt_in=True)  # bypassing capture, as admin would
    assert lead_not_mailable_reason(lead=lead) == tombstones.NOT_MAILABLE_ERASED


def test_another_process_hears_of_the_tombstone_after_its_cache_time_and_the_recheck_erases_what_slipped_in(manager):
    record = person_erase(email=EMAIL, by=manager, via="api")
    tombstones.tombstones_assume_none()  # another process, which read the table before the erasure
    slipped = capture(data={"email": EMAIL, "first_name": FIRST}, context=CaptureContext(channel=Lead.Source.API)).lead
    assert slipped is not None
    assert erasure_recheck(record_id=record.pk) == 1
    assert not Lead.objects.filter(pk=slipped.pk).exists()
    tombstones.tombstones_forget()
    assert tombstones.email_erased(email=EMAIL)


def test_the_erasure_is_one_transaction(manager, monkeypatch):
    """A failure half-way (here: the tombstone's insert) leaves every row where it was."""
    lead = LeadFactory(email=EMAIL)
    InteractionFactory(lead=lead, kind=Interaction.Kind.NOTE, body="kept")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ErasureTombstone.objects, "bulk_create", broken)  # Django's manager, not our code
    with pytest.raises(RuntimeError):
        person_erase(lead=lead, by=manager, via="page")
    assert Lead.objects.filter(pk=lead.pk).exists() and Interaction.objects.filter(lead=lead).exists()


def test_the_importer_rejects_the_row_of_an_erased_person_with_the_reason(manager, settings, tmp_path):
    from leads.capture.importing.jobs import import_file

    settings.MEDIA_ROOT = str(tmp_path / "media")
    person_erase(email=EMAIL, by=manager, via="api")
    path = tmp_path / "fair.csv"
    path.write_text(f"Email,First name,Phone\n{EMAIL.upper()},{FIRST},{PHONE}\nkept@fair.example,Kept,\n")
    job = import_file(path=str(path), by=manager, route_leads=False)
    assert (job.created_count, job.rejected_count) == (1, 1)
    assert job.errors == [{"line": 2, "reason": tombstones.IMPORT_REFUSED}]
    assert list(Lead.objects.values_list("email", flat=True)) == ["kept@fair.example"]
