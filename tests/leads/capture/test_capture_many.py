"""capture_many, the batch way in: the same find/merge and duplicate rules as capture(), set-based."""

from dataclasses import dataclass, field
from typing import Any

import pytest

from leads import pipeline
from leads.capture.batch import PROCESS_LEADS_TASK, BatchContext, capture_many
from leads.capture.cleaning import capture_clean
from leads.capture.service import CaptureContext, capture
from leads.models import CaptureRecord, Interaction, Lead, OutboxJob, PossibleDuplicate
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@dataclass
class Item:
    line: int
    payload: dict[str, Any]
    fields: dict[str, Any] = field(default_factory=dict)
    created_at: None = None
    error: str = ""


def items(*rows: dict[str, Any]) -> list[Item]:
    return [
        Item(line=n, payload=row, fields=capture_clean(row, strict=False)[0]) for n, row in enumerate(rows, start=2)
    ]


def api_context() -> BatchContext:
    return BatchContext(channel=Lead.Source.API, subject="Batch", data={"batch": 1})


def test_a_batch_finds_people_as_capture_does_by_id_then_email_then_a_phone_without_a_second_email():
    by_id = LeadFactory(external_id="crm-1", email="old@acme.io", company="")
    by_email = LeadFactory(email="ann@acme.io", company="")
    by_phone = LeadFactory(email="", phone="+442079460958", company="")
    other_email = LeadFactory(email="bob@acme.io", phone="+442079460959")
    outcomes = capture_many(
        items=items(
            {"external_id": "crm-1", "email": "new@acme.io", "company": "By id"},
            {"email": "ANN@acme.io", "company": "By email"},
            {"phone": "+44 20 7946 0958", "email": "carl@acme.io", "company": "By phone"},
            {"phone": "+44 20 7946 0959", "email": "dora@acme.io"},  # a second email on one phone: a new person
        ),
        context=api_context(),
    )
    assert [o.lead.pk for o in outcomes[:3]] == [by_id.pk, by_email.pk, by_phone.pk]
    assert [o.action for o in outcomes] == ["updated", "updated", "updated", "created"]
    assert Lead.objects.get(pk=by_id.pk).email == "old@acme.io"  # merging fills blanks, never overwrites
    assert Lead.objects.get(pk=by_phone.pk).email == "carl@acme.io"
    pair = PossibleDuplicate.objects.get(reason=PossibleDuplicate.Reason.SAME_PHONE)
    assert {pair.lead_id, pair.other_id} == {other_email.pk, outcomes[3].lead.pk}


def test_a_batch_merges_by_the_rules_capture_merges_by():
    """The same input through capture() and through capture_many leaves the same lead."""
    one = LeadFactory(email="one@acme.io", company="", job_title="", attributes={"plan": "pro"}, tags=["b"])
    two = LeadFactory(email="two@acme.io", company="", job_title="", attributes={"plan": "pro"}, tags=["b"])
    data = {"company": "Acme", "job_title": "CTO", "plan": "free", "seats": "3", "tags": ["a"], "email_opt_in": True}
    capture(data={**data, "email": "one@acme.io"}, context=CaptureContext(channel=Lead.Source.API))
    capture_many(items=items({**data, "email": "two@acme.io"}), context=api_context())
    one.refresh_from_db()
    two.refresh_from_db()
    compared = ("company", "job_title", "attributes", "tags", "email_opt_in")
    assert [getattr(one, name) for name in compared] == [getattr(two, name) for name in compared]


def test_a_batch_logs_each_input_and_checks_its_leads_for_duplicates_once():
    """Broke: the importer recorded possible duplicates itself and the pipeline checked every imported
    lead again; now the pipeline is told the batch checked them."""
    LeadFactory(email="eve@acme.io")
    outcomes = capture_many(items=items({"email": "eve+news@acme.io"}), context=api_context())
    lead = outcomes[0].lead
    record = CaptureRecord.objects.get(lead=lead)
    assert record.payload == {"batch": 1, "line": 2, "row": {"email": "eve+news@acme.io"}}
    entry = Interaction.objects.get(lead=lead)
    assert (entry.kind, entry.subject, entry.data["capture"]) == (Interaction.Kind.CAPTURE, "Batch", record.pk)
    assert PossibleDuplicate.objects.filter(reason=PossibleDuplicate.Reason.PLUS_TAG).count() == 1
    job = OutboxJob.objects.get(task_name=PROCESS_LEADS_TASK)
    assert job.args == [[lead.pk], True]


def test_the_pipeline_skips_the_duplicates_stage_for_a_batchs_leads(monkeypatch):
    lead = LeadFactory()
    checked = []
    monkeypatch.setattr(pipeline, "duplicates_detect", lambda *, lead: checked.append(lead.pk))
    pipeline.lead_process(lead_id=lead.pk, duplicates_checked=True)
    assert checked == []
    pipeline.lead_process(lead_id=lead.pk)
    assert checked == [lead.pk]


def test_a_dry_run_logs_nothing_and_enqueues_nothing():
    outcomes = capture_many(
        items=items({"email": "dry@acme.io"}), context=BatchContext(channel=Lead.Source.API, dry_run=True)
    )
    assert outcomes[0].created
    assert not CaptureRecord.objects.exists() and not OutboxJob.objects.filter(task_name=PROCESS_LEADS_TASK).exists()
