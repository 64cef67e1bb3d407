"""Exporting a person: a zip with a JSON file of each kind of record and the emails as .eml,
streamed in chunks (a long history never sits in memory)."""

import email
import io
import json
import tracemalloc
import zipfile

import pytest

from leads.models import Interaction, PrivacyRequest
from leads.privacy.export import FILES, person_export, person_export_stream
from leads.privacy.person import person_find
from tests.factories import LeadFactory

from .world import EMAIL, FIRST, PHONE, person_world

pytestmark = pytest.mark.django_db


def _archive(chunks) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(chunks)))


def test_the_archive_holds_each_kind_of_record_and_the_messages(manager, rep, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    world = person_world(manager=manager, rep=rep)
    _, chunks = person_export(email=EMAIL, by=manager, via="api")
    archive = _archive(chunks)
    names = set(archive.namelist())
    assert set(FILES) <= names and {"README.txt", "manifest.json"} <= names
    data = {name: json.loads(archive.read(name)) for name in FILES}
    for name in FILES:
        assert data[name], f"{name} is empty"
    assert data["leads.json"][0]["email"] == EMAIL and data["leads.json"][0]["phone"] == PHONE
    assert len(data["timeline.json"]) == world.interactions
    assert data["customers.json"][0]["id"] == world.customer.pk
    assert any(c["payload"].get("message") == f"Please call me on {PHONE}" for c in data["captures.json"])
    assert any(
        c["lead_id"] is None and c["result"] == "rejected" for c in data["captures.json"]
    )  # the refused submission too
    assert [len(v["page_views"]) for v in data["tracking.json"]] == [2]
    assert data["consents.json"][0]["text"] == "I agree to receive product emails."
    assert data["consents.json"][0]["ip"] == "203.0.113.9" and data["consents.json"][0]["form"] == "Demo request"
    assert data["webhook_deliveries.json"][0]["payload"]["lead"]["email"] == EMAIL
    inbound = [n for n in names if n.startswith("messages/in/")]
    outbound = [n for n in names if n.startswith("messages/out/")]
    assert len(inbound) == 1 and len(outbound) == 1
    received = email.message_from_bytes(archive.read(inbound[0]))
    assert EMAIL in received["From"] and PHONE in received.get_payload()
    sent = email.message_from_bytes(archive.read(outbound[0]))
    assert sent["To"] == EMAIL and sent["Subject"] == f"Hello {FIRST}" and sent["Message-ID"] == "<out-1@leadcrm.test>"
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["counts"]["timeline.json"] == world.interactions and manifest["counts"]["messages"] == 2
    # The export is on the record, without the address.
    logged = PrivacyRequest.objects.get(action=PrivacyRequest.Action.EXPORT)
    assert logged.actor == manager and EMAIL not in json.dumps(logged.counts) and logged.subject_digest


def test_nothing_held_is_a_lookup_error():
    with pytest.raises(LookupError):
        person_export(email="nobody@example.org", by=None, via="api")


def test_a_long_history_is_streamed_in_chunks_without_holding_it(db):
    """3,000 timeline entries of 6 kB (18 MB of JSON) go out in many chunks, the process never
    holding more than a fraction of it."""
    lead = LeadFactory(email=EMAIL)
    body = "x" * 6000
    Interaction.objects.bulk_create(
        [Interaction(lead=lead, kind=Interaction.Kind.NOTE, body=body) for _ in range(3000)]
    )
    person = person_find(lead=lead)
    tracemalloc.start()
    try:
        sizes = []
        for chunk in person_export_stream(person=person):
            sizes.append(len(chunk))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(sizes) > 10
    assert peak < 9 * 1024 * 1024, peak
