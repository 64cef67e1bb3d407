"""A built form's submissions: the answers become the lead's fields and custom attributes, the
first step alone already makes the lead, conditions and per-field checks hold on the server."""

import json

import pytest

from leads.capture.forms_builder.public_form import CONSENT_REQUIRED, PATTERN_MISMATCH, REQUIRED_MESSAGE
from leads.models import CaptureRecord, Consent, Lead, OutboxJob, WebForm
from tests.factories import SegmentFactory

from .conftest import FULL, post_json

pytestmark = pytest.mark.django_db


def test_a_full_submission_makes_a_lead_with_attributes_utm_and_consents(client, built_form):
    response = post_json(client, built_form, FULL, HTTP_ORIGIN="https://www.example.com")
    assert response.status_code == 201, response.content
    assert response.json() == {"status": "received"}
    assert response["Access-Control-Allow-Origin"] == "https://www.example.com"
    lead = Lead.objects.get(email="ada@example.org")
    assert lead.company == "Analytical" and lead.utm_source == "linkedin" and lead.source == "web_form"
    assert lead.attributes == {"budget": "10k-50k", "seats": 12, "interests": ["Email", "Chat"], "campaign_id": "c-42"}
    assert lead.email_opt_in is True
    proofs = sorted(Consent.objects.filter(lead=lead).values_list("text", "purpose", "legal_basis"))
    assert proofs == [
        ("Email me product news.", "email_marketing", "consent"),
        ("You may call me about my request.", "phone_contact", "legitimate_interest"),
    ]


def test_the_first_step_alone_makes_the_lead_and_the_final_submit_merges_into_it(client, built_form):
    step_one = {
        "email": "grace@example.org",
        "first_name": "Grace",
        "company": "Navy",
        "utm_source": "ads",
        "_partial": "1",
    }
    assert post_json(client, built_form, step_one).status_code == 201
    lead = Lead.objects.get(email="grace@example.org")
    assert lead.attributes == {} and lead.utm_source == "ads"
    record = CaptureRecord.objects.get(lead=lead)
    assert record.result == "created" and record.payload["_partial"] == "1"
    final = {**FULL, "email": "grace@example.org", "first_name": "Grace", "company": "Navy"}
    assert post_json(client, built_form, final).status_code == 201
    assert Lead.objects.filter(email="grace@example.org").count() == 1
    lead.refresh_from_db()
    assert lead.attributes["budget"] == "10k-50k"
    assert list(CaptureRecord.objects.filter(lead=lead).order_by("id").values_list("result", flat=True)) == [
        "created",
        "merged",
    ]


def test_the_first_step_is_checked_on_its_own(client, built_form):
    response = post_json(client, built_form, {"email": "not-an-email", "_partial": "1"})
    assert response.status_code == 400
    assert set(response.json()) == {"email", "company"}  # step 2's required budget is not asked yet
    assert response.json()["company"] == [REQUIRED_MESSAGE]
    assert not Lead.objects.exists()


def test_a_hidden_conditional_field_is_not_required_and_its_value_is_dropped(client, built_form):
    data = {**FULL, "procurement_contact": "should be dropped"}
    assert post_json(client, built_form, data).status_code == 201
    assert "procurement_contact" not in Lead.objects.get().attributes


def test_a_shown_conditional_field_is_required(client, built_form):
    response = post_json(client, built_form, {**FULL, "budget": "> 50k"})
    assert response.status_code == 400
    assert response.json() == {"procurement_contact": [REQUIRED_MESSAGE]}
    assert post_json(client, built_form, {**FULL, "budget": "> 50k", "procurement_contact": "Bob"}).status_code == 201
    assert Lead.objects.get().attributes["procurement_contact"] == "Bob"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("budget", "1M", "Select a valid choice."),
        ("budget", "", REQUIRED_MESSAGE),
        ("seats", "0", "Ensure this value is greater than or equal to 1."),
        ("seats", "many", "Enter a number."),
        ("po_number", "PO-12", PATTERN_MISMATCH),
        ("interests", ["Fax"], "Select a valid choice."),
        ("interests", {"a": 1}, "Choose from the list."),
        ("email", "x@", "Enter a valid email address."),
    ],
)
def test_each_bad_answer_is_a_400_on_its_field(client, built_form, field, value, message):
    response = post_json(client, built_form, {**FULL, field: value})
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert message.split(" ")[0] in errors[field][0]
    assert CaptureRecord.objects.get().result == "rejected"


def test_a_required_consent_box_must_be_ticked(client, built_form):
    schema = built_form.schema
    schema["consents"][0]["required"] = True
    WebForm.objects.filter(pk=built_form.pk).update(schema=schema)
    built_form.refresh_from_db()
    from leads.capture.webforms import web_forms_forget

    web_forms_forget()
    response = post_json(client, built_form, {**FULL, "consent_1": False})
    assert response.status_code == 400 and response.json() == {"consent_1": [CONSENT_REQUIRED]}


@pytest.mark.parametrize(
    "data",
    [
        {"email": "a\x00b@example.org"},
        {"company": "x" * 10_000},
        {"budget": ["10k-50k"]},
        {"seats": "1e400"},
        {"interests": "[[[[" * 50},
        {"first_name": "x" * 151},
    ],
)
def test_hostile_answers_are_400s_never_500s(client, built_form, data):
    response = post_json(client, built_form, {**FULL, **data})
    assert response.status_code == 400, response.content
    assert list(response.json()) == list(data)
    assert not Lead.objects.exists()


def test_spam_is_refused_and_logged(client, built_form):
    assert post_json(client, built_form, {**FULL, "hp_url": "http://spam.example"}).status_code == 201
    refused = CaptureRecord.objects.get()
    assert refused.result == "rejected" and refused.reason == "honeypot field filled"
    response = post_json(client, built_form, FULL, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert not Lead.objects.exists()


def test_a_draft_answers_404_and_a_finished_submission_enqueues_its_follow_ups(client, built_form, marketer):
    WebForm.objects.filter(pk=built_form.pk).update(is_active=False)
    from leads.capture.webforms import web_forms_forget

    web_forms_forget()
    assert client.get("/f/demo").status_code == 404
    assert client.get("/f/demo/schema.json").status_code == 404
    schema = {**built_form.schema, "follow_ups": {"notify": marketer.pk}}
    WebForm.objects.filter(pk=built_form.pk).update(is_active=True, schema=schema)
    web_forms_forget()
    assert post_json(client, built_form, {**FULL, "_partial": "1"}).status_code == 201
    assert not OutboxJob.objects.filter(
        task_name="leads.automations.tasks.form_follow_ups_task"
    ).exists()  # not for a first step
    assert post_json(client, built_form, FULL).status_code == 201
    job = OutboxJob.objects.get(task_name="leads.automations.tasks.form_follow_ups_task")
    record = CaptureRecord.objects.filter(lead__isnull=False).latest("id")
    assert job.args == [record.pk]


def test_follow_ups_run_once(built_form, marketer, client):
    from leads.automations.form_follow_ups import form_follow_ups_run
    from leads.models import Notification, SegmentMember

    trade_show = SegmentFactory(name="Demo requests", kind="static")
    schema = {**built_form.schema, "follow_ups": {"notify": marketer.pk, "list": trade_show.pk}}
    WebForm.objects.filter(pk=built_form.pk).update(schema=schema)
    from leads.capture.webforms import web_forms_forget

    web_forms_forget()
    assert post_json(client, built_form, FULL).status_code == 201
    record = CaptureRecord.objects.get()
    outcome = form_follow_ups_run(record_id=record.pk)
    assert "added to list Demo requests" in outcome and "notified marketer" in outcome
    assert form_follow_ups_run(record_id=record.pk) == "ran already"
    assert SegmentMember.objects.filter(segment=trade_show, lead=record.lead).count() == 1
    assert Notification.objects.filter(user=marketer).count() == 1


def test_the_public_page_and_the_embed_layout_are_the_same_form(client, built_form):
    page = client.get("/f/demo?utm_source=x")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="lcrm-form-config"' in html and "leadcrm/forms/embed.js" in html
    inline = json.loads(html.split('id="lcrm-form-config" type="application/json">')[1].split("</script>")[0])
    embed = client.get("/f/demo/schema.json", HTTP_ORIGIN="https://www.example.com")
    assert embed["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert (
        client.get("/f/demo/schema.json", HTTP_ORIGIN="https://evil.example").get("Access-Control-Allow-Origin") is None
    )
    assert embed.json()["steps"] == inline["steps"] and embed.json()["action"] == inline["action"]
    assert embed.json()["action"].endswith("/f/demo")


@pytest.mark.django_db(transaction=True)
def test_the_follow_ups_run_on_the_worker_after_the_submit(celery_worker_live, client, built_form, marketer):
    """Off the request path: the submit answers at once, a real worker adds to the list and notifies."""
    from leads.capture.webforms import web_forms_forget
    from leads.models import FormFollowUpRun, Notification, SegmentMember
    from tests.helpers import wait_for

    webinar = SegmentFactory(name="Webinar sign-ups", kind="static")
    WebForm.objects.filter(pk=built_form.pk).update(
        schema={**built_form.schema, "follow_ups": {"list": webinar.pk, "notify": marketer.pk}}
    )
    web_forms_forget()
    assert post_json(client, built_form, FULL).status_code == 201
    lead = Lead.objects.get(email="ada@example.org")
    assert wait_for(lambda: FormFollowUpRun.objects.filter(capture__lead=lead).exists())
    assert SegmentMember.objects.filter(segment=webinar, lead=lead).exists()
    assert Notification.objects.filter(user=marketer, lead=lead).count() == 1
