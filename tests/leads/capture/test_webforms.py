"""Public web forms at /f/<key>: embeddable, spam-resistant, and never losing a real person."""

import json
import time
import urllib.parse
import urllib.request

import pytest
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError

from leads.capture.webforms import _SALT, HONEYPOT_FIELD, TIMESTAMP_FIELD
from leads.models import CaptureRecord, Consent, Lead, WebForm
from leads.models.capture import REDIRECT_HOST_NOT_ALLOWED
from tests.factories import WebFormFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # rate-limit counters live in the (Redis) cache
    yield
    cache.clear()


@pytest.fixture
def web_form(team):
    return WebFormFactory(
        name="Pricing request",
        key="pricing",
        team=team,
        fields=["first_name", "last_name", "email", "company", "phone", "message"],
        required_fields=["email", "first_name"],
        consent_text="You may email me about LeadCRM.",
        allowed_hosts=["www.example.com"],
        default_tags=["pricing"],
        utm_source="website",
        rate_limit="5/m",
        min_fill_seconds=2,
    )


def stamp(form: WebForm, age: float = 10.0) -> str:
    """The signed render stamp a real page would carry, rendered `age` seconds ago."""
    return signing.dumps({"k": form.key, "t": time.time() - age}, salt=_SALT, compress=True)


def submission(form: WebForm, **overrides) -> dict:
    data = {
        "first_name": "Linus",
        "last_name": "Tor",
        "email": "linus@kernel.example",
        "company": "Kernel",
        "message": "Send me prices",
        "consent": "on",
        TIMESTAMP_FIELD: stamp(form),
        "utm_campaign": "q4",
        "visitor_id": "v-123",
        "landing_page": "https://www.example.com/pricing",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_form_renders_and_is_embeddable_only_on_allowed_hosts(client, web_form):
    response = client.get("/f/pricing", {"utm_source": "newsletter"}, HTTP_REFERER="https://www.example.com/pricing")
    assert response.status_code == 200
    assert (
        "frame-ancestors 'self' https://www.example.com http://www.example.com" == response["Content-Security-Policy"]
    )
    assert "X-Frame-Options" not in response
    html = response.content.decode()
    assert 'name="email"' in html and 'name="hp_url"' in html and 'name="_ts"' in html
    assert "You may email me about LeadCRM." in html
    assert client.get("/accounts/login/")["X-Frame-Options"] == "DENY"  # every other page stays unframeable


def test_a_person_submits_and_gets_the_thank_you_page(client, web_form, team):
    response = client.post("/f/pricing", submission(web_form), REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 200
    assert b"Thank you!" in response.content
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.source, lead.source_detail) == (
        "linus@kernel.example",
        "Linus",
        "web_form",
        "Pricing request",
    )
    assert (lead.team, lead.tags, lead.utm_source, lead.utm_campaign) == (team, ["pricing"], "website", "q4")
    assert lead.email_opt_in is True
    consent = Consent.objects.get(lead=lead)
    assert (consent.text, consent.ip) == ("You may email me about LeadCRM.", "198.51.100.7")
    submit = lead.interactions.get(kind="form_submit")
    assert submit.body == "Send me prices"
    assert submit.data["visitor_id"] == "v-123" and submit.data["landing_page"] == "https://www.example.com/pricing"
    assert CaptureRecord.objects.get().result == "created"


def test_json_in_json_out(client, web_form):
    response = client.post(
        "/f/pricing",
        json.dumps(submission(web_form, consent=True)),
        content_type="application/json",
        HTTP_ACCEPT="application/json",
        HTTP_ORIGIN="https://www.example.com",
    )
    assert response.status_code == 201
    assert response.json() == {"status": "received"}
    assert Lead.objects.count() == 1
    assert response["Access-Control-Allow-Origin"] == "https://www.example.com"


def test_preflight_from_an_allowed_origin(client, web_form):
    response = client.options(
        "/f/pricing", HTTP_ORIGIN="https://www.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert "POST" in response["Access-Control-Allow-Methods"]
    refused = client.options("/f/pricing", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in refused


def test_a_post_from_another_site_is_refused_and_logged(client, web_form):
    response = client.post("/f/pricing", submission(web_form), HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert not Lead.objects.exists()
    assert "origin not allowed" in CaptureRecord.objects.get().reason


def test_redirect_goes_only_to_an_allowed_host(client, web_form):
    web_form.redirect_url = "https://www.example.com/thanks"
    web_form.save()
    response = client.post("/f/pricing", submission(web_form))
    assert (response.status_code, response["Location"]) == (302, "https://www.example.com/thanks")
    web_form.redirect_url = "https://evil.example/phish"
    with pytest.raises(ValidationError) as error:
        web_form.full_clean()
    assert REDIRECT_HOST_NOT_ALLOWED in error.value.message_dict["redirect_url"]
    web_form.save()  # even if saved around the admin, the view will not redirect there
    response = client.post("/f/pricing", submission(web_form, email="second@kernel.example"))
    assert response.status_code == 200 and b"Thank you!" in response.content


def test_the_honeypot_makes_no_lead_but_looks_the_same(client, web_form):
    response = client.post("/f/pricing", submission(web_form, **{HONEYPOT_FIELD: "http://spam.example"}))
    assert response.status_code == 200 and b"Thank you!" in response.content
    assert not Lead.objects.exists()
    assert CaptureRecord.objects.get().reason == "honeypot field filled"


def test_too_fast_or_forged_stamps_make_no_lead(client, web_form):
    client.post("/f/pricing", submission(web_form, **{TIMESTAMP_FIELD: stamp(web_form, age=0.2)}))
    client.post("/f/pricing", submission(web_form, **{TIMESTAMP_FIELD: "forged"}))
    assert not Lead.objects.exists()
    reasons = sorted(CaptureRecord.objects.values_list("reason", flat=True))
    assert reasons[0].startswith("filled in 0.") and reasons[1] == "missing or forged form stamp"


def test_missing_required_fields_show_errors_and_keep_the_input(client, web_form):
    response = client.post("/f/pricing", submission(web_form, first_name="", consent=None))
    assert response.status_code == 400
    assert "This field is required." in response.context["form"].errors["first_name"]
    assert "Please tick the box to agree." in response.context["form"].errors["consent"]
    assert b"linus@kernel.example" in response.content  # what they typed is still there
    json_response = client.post(
        "/f/pricing", json.dumps(submission(web_form, email="bad")), content_type="application/json"
    )
    assert json_response.status_code == 400 and "email" in json_response.json()
    assert not Lead.objects.exists()


def test_rate_limit_is_per_ip_and_configurable(client, web_form):
    web_form.rate_limit = "2/m"
    web_form.save()
    codes = [
        client.post(
            "/f/pricing", submission(web_form, email=f"p{i}@kernel.example"), REMOTE_ADDR="192.0.2.1"
        ).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]
    assert (
        client.post(
            "/f/pricing", submission(web_form, email="other@kernel.example"), REMOTE_ADDR="192.0.2.2"
        ).status_code
        == 200
    )
    assert Lead.objects.count() == 3
    assert CaptureRecord.objects.filter(reason="rate limited").count() == 1


def test_bad_bodies_are_4xx(client, web_form):
    assert client.post("/f/pricing", "{broken", content_type="application/json").status_code == 400
    assert client.post("/f/pricing", b'{"email": "\xff"}', content_type="application/json").status_code == 400
    nul = client.post("/f/pricing", submission(web_form, first_name="Li\x00nus"))
    assert nul.status_code == 400
    assert client.post("/f/pricing", {"email": "x" * 1_100_000}).status_code == 413
    assert client.get("/f/unknown").status_code == 404
    web_form.is_active = False
    web_form.save()
    assert client.get("/f/pricing").status_code == 404
    assert not Lead.objects.exists()


def test_a_repeat_visitor_merges_into_their_lead(client, web_form):
    client.post("/f/pricing", submission(web_form, company=""))
    client.post("/f/pricing", submission(web_form, first_name="Someone", company="Kernel Org"))
    lead = Lead.objects.get()
    assert (lead.first_name, lead.company) == ("Linus", "Kernel Org")
    assert lead.interactions.filter(kind="form_submit").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_real_http_post_through_the_live_server(live_server, team):
    form = WebFormFactory(name="Live", key="live", fields=["email"], required_fields=["email"], min_fill_seconds=1)
    body = urllib.parse.urlencode({"email": "live@example.com", TIMESTAMP_FIELD: stamp(form)}).encode()
    request = urllib.request.Request(f"{live_server.url}/f/live", data=body, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        assert json.loads(response.read()) == {"status": "received"}
    assert Lead.objects.filter(email="live@example.com").exists()


def test_admin_shows_the_embed_snippets(client, manager, web_form):
    client.force_login(manager)
    response = client.get(f"/admin/leads/webform/{web_form.pk}/change/")
    html = response.content.decode()
    assert "&lt;iframe src=&quot;http://127.0.0.1:8000/f/pricing&quot;" in html
    assert "&lt;form method=&quot;post&quot; action=&quot;http://127.0.0.1:8000/f/pricing&quot;&gt;" in html


def test_managers_see_the_request_log(client, manager, web_form):
    client.post("/f/pricing", submission(web_form, **{HONEYPOT_FIELD: "x"}))
    client.force_login(manager)
    response = client.get("/admin/leads/capturerecord/", {"result__exact": "rejected"})
    assert response.status_code == 200 and b"honeypot field filled" in response.content


def test_the_timeline_shows_what_was_submitted(client, manager, web_form):
    client.post("/f/pricing", submission(web_form))
    lead = Lead.objects.get()
    client.force_login(manager)
    html = client.get(f"/leads/{lead.pk}", {"kind": "form_submit"}).content.decode()
    assert "Submitted Pricing request" in html and "Kernel" in html


def test_a_new_person_is_one_statement_with_everything_written_together(client, web_form, django_assert_num_queries):
    """The capture path of issue #3's throughput target: the lead, its capture record, its timeline
    entry and its consent proof are one INSERT statement (the form's row is kept for a few seconds)."""
    client.post("/f/pricing", submission(web_form, email="first@kernel.example"))  # the form is now kept
    with django_assert_num_queries(1):
        response = client.post("/f/pricing", submission(web_form), REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 200
    lead = Lead.objects.get(email="linus@kernel.example")
    record = CaptureRecord.objects.get(lead=lead)
    assert (record.result, record.web_form, record.payload["company"]) == ("created", web_form, "Kernel")
    submit = lead.interactions.get()
    assert (submit.kind, submit.data["capture"], submit.data["created"]) == ("form_submit", record.pk, True)
    assert submit.occurred_at == lead.created_at == lead.last_activity_at == record.received_at
    consent = Consent.objects.get(lead=lead)
    assert (consent.capture, consent.web_form, consent.ip) == (record, web_form, "198.51.100.7")
    assert (lead.form_submits, lead.processed_at) == (1, None)
    # … and its processing job, in the same statement: no lead without its job (docs/jobs.md)
    from leads.models import OutboxJob

    assert OutboxJob.objects.filter(task_name="leads.tasks.process_lead_task", args=[lead.pk]).exists()


def test_possible_duplicates_of_a_form_lead_are_found_by_the_pipeline(client, web_form):
    """Off the request path: the answer does not wait for the duplicate checks; processing records them."""
    from leads.models import PossibleDuplicate
    from leads.pipeline import lead_process
    from tests.factories import LeadFactory

    known = LeadFactory(email="linus@kernel.example")
    client.post("/f/pricing", submission(web_form, email="linus+pricing@kernel.example"))
    lead = Lead.objects.get(email="linus+pricing@kernel.example")
    assert not PossibleDuplicate.objects.exists()
    assert lead_process(lead_id=lead.pk)
    pair = PossibleDuplicate.objects.get()
    assert (pair.lead_id, pair.other_id, pair.reason) == (known.pk, lead.pk, "plus_tag")
    assert lead_process(lead_id=lead.pk)  # a second run changes nothing
    assert PossibleDuplicate.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_worker_records_possible_duplicates_of_a_form_lead(client, team, celery_worker_live):
    from leads.models import PossibleDuplicate
    from tests.factories import LeadFactory
    from tests.helpers import wait_for

    cache.clear()
    form = WebFormFactory(
        name="Demo", key="demo", fields=["email", "phone"], required_fields=["email"], min_fill_seconds=0
    )
    known = LeadFactory(email="ada@example.org", phone="+442079460958")
    response = client.post(
        "/f/demo", {"email": "ada.l@example.org", "phone": "+44 20 7946 0958", TIMESTAMP_FIELD: stamp(form)}
    )
    assert response.status_code == 200
    lead = Lead.objects.get(email="ada.l@example.org")
    assert wait_for(lambda: PossibleDuplicate.objects.exists()), "the pipeline never recorded the possible duplicate"
    pair = PossibleDuplicate.objects.get()
    assert (pair.lead_id, pair.other_id, pair.reason) == (known.pk, lead.pk, "same_phone")


def test_a_form_changed_by_another_process_is_seen_within_seconds(client, web_form, monkeypatch):
    """Each process keeps the active forms a few seconds; an UPDATE that sent no signal (another process) shows after that."""
    from leads.capture import webforms

    monkeypatch.setattr(webforms, "WEB_FORM_CACHE_SECONDS", 0.3)
    assert client.get("/f/pricing").status_code == 200
    WebForm.objects.filter(pk=web_form.pk).update(is_active=False)  # no post_save: as if in another process
    assert client.get("/f/pricing").status_code == 200  # still the copy
    time.sleep(0.35)
    assert client.get("/f/pricing").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_form_deleted_by_another_process_answers_404_not_500(client, team):
    """A kept copy of a deleted form must not turn a submission into a foreign-key error."""
    from django.db import connection

    cache.clear()
    form = WebFormFactory(name="Gone", key="gone", fields=["email"], required_fields=["email"], min_fill_seconds=0)
    assert client.get("/f/gone").status_code == 200  # kept by this process
    with connection.cursor() as cursor:  # another process deletes it: no signal here
        cursor.execute("DELETE FROM leads_webform WHERE id = %s", [form.pk])
    response = client.post("/f/gone", {"email": "late@example.com", TIMESTAMP_FIELD: stamp(form)})
    assert response.status_code == 404
    assert not Lead.objects.exists() and not CaptureRecord.objects.exists()
    assert client.get("/f/gone").status_code == 404


def test_a_changed_form_asks_for_its_new_fields_and_each_submission_has_its_own(client, web_form):
    """The fields are built once per form's settings and copied per submission: a manager's change
    to the shown or required fields applies to the next post, and a field changed on one form
    object leaves the next one as configured."""
    from django.utils import translation

    from leads.capture.webforms import PublicLeadForm

    first = PublicLeadForm(web_form=web_form)
    second = PublicLeadForm(web_form=web_form)
    assert first.fields["email"] is not second.fields["email"]
    first.fields["email"].required = False
    assert PublicLeadForm(web_form=web_form).fields["email"].required

    web_form.fields = [*web_form.fields, "job_title", "country"]
    web_form.required_fields = ["email", "job_title"]
    web_form.save()
    response = client.post("/f/pricing", submission(web_form, first_name=""))
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"job_title"}  # first name no longer required
    with translation.override("de"):
        german = dict(PublicLeadForm(web_form=web_form).fields["country"].choices)
    assert (
        german["DE"] == "Deutschland"
        and dict(PublicLeadForm(web_form=web_form).fields["country"].choices)["DE"] == "Germany"
    )
    assert client.post("/f/pricing", submission(web_form, job_title="CTO", country="DE")).status_code == 200
    assert Lead.objects.get().job_title == "CTO"
