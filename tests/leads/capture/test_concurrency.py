"""Simultaneous captures of the same person give one lead, never two (real threads, PostgreSQL)."""

import threading

import pytest
from django.db import connection

from leads.capture.service import CaptureContext, capture
from leads.models import CaptureRecord, Interaction, Lead


def _hammer(n: int, data: dict) -> list[Exception]:
    barrier = threading.Barrier(n)
    errors: list[Exception] = []

    def submit(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            capture(
                data={**data, "attributes": {f"k{i}": i}},
                context=CaptureContext(channel="web_form", source_detail="race"),
            )
        except Exception as exc:  # noqa: BLE001 - the test reports any failure of any thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_submissions_with_one_email_make_one_lead():
    assert connection.vendor == "postgresql"
    errors = _hammer(50, {"email": "Rush@Example.com", "first_name": "Rush"})
    assert errors == []
    lead = Lead.objects.get()
    assert lead.email == "rush@example.com"
    assert Interaction.objects.filter(lead=lead, kind="form_submit").count() == 50
    assert CaptureRecord.objects.filter(lead=lead).count() == 50
    assert len(lead.attributes) == 50  # every submission's extra data was kept


@pytest.mark.django_db(transaction=True)
def test_simultaneous_phone_only_captures_make_one_lead():
    errors = _hammer(20, {"phone": "+442079460958"})
    assert errors == []
    assert Lead.objects.count() == 1
    assert Interaction.objects.count() == 20
