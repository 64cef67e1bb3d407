"""The Forms page: managers and marketers build, preview, publish and measure forms; reps cannot."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.capture.forms_builder.analytics import form_count
from leads.capture.forms_builder.schema import CONDITION_FIELD, EMAIL_FIRST, RESERVED_NAME, schema_clean
from leads.models import CaptureRecord, FormDayCount, Lead, WebForm
from tests.factories import WebFormFactory

from .conftest import FULL, LAYOUT, post_json

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/forms/builder/",
        "/forms/builder/{pk}/",
        "/forms/builder/{pk}/preview",
        "/forms/builder/{pk}/analytics",
    ],
)
def test_reps_may_not_open_the_forms_pages(client, rep, built_form, url):
    client.force_login(rep)
    assert client.get(url.format(pk=built_form.pk)).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/forms/builder/",
        "/forms/builder/{pk}/layout",
        "/forms/builder/{pk}/duplicate",
        "/forms/builder/{pk}/publish",
        "/forms/builder/{pk}/preview/submit",
    ],
)
def test_reps_may_not_change_forms(client, rep, built_form, url):
    client.force_login(rep)
    assert client.post(url.format(pk=built_form.pk), {"name": "x"}).status_code == 403
    assert WebForm.objects.count() == 1


def test_a_marketer_creates_duplicates_publishes_and_unpublishes(client, marketer):
    client.force_login(marketer)
    response = client.post("/forms/builder/", {"name": "Webinar"})
    form = WebForm.objects.get(name="Webinar")
    assert response.url == f"/forms/builder/{form.pk}/"
    assert form.is_active is False and form.schema["steps"][0]["items"][1]["name"] == "email"
    assert client.get(f"/f/{form.key}").status_code == 404  # a draft is not public
    client.post(f"/forms/builder/{form.pk}/publish")
    form.refresh_from_db()
    assert form.is_active
    assert client.get(f"/f/{form.key}").status_code == 200
    client.post(f"/forms/builder/{form.pk}/publish", {"publish": "0"})
    form.refresh_from_db()
    assert not form.is_active
    client.post(f"/forms/builder/{form.pk}/duplicate")
    copy = WebForm.objects.get(name="Copy of Webinar")
    assert copy.key != form.key and copy.schema == form.schema and not copy.is_active
    assert client.post("/forms/builder/", {"name": " "}).status_code == 302
    assert WebForm.objects.count() == 2


def test_the_layout_saves_and_bad_layouts_get_messages_by_path(client, manager, built_form):
    client.force_login(manager)
    url = f"/forms/builder/{built_form.pk}/layout"
    response = client.post(url, json.dumps(LAYOUT), content_type="application/json")
    assert response.status_code == 200
    bad = json.loads(json.dumps(LAYOUT))
    bad["steps"][0]["items"][0]["required"] = False
    bad["steps"][1]["items"][2]["condition"]["field"] = "seats"  # a later field
    bad["steps"][1]["items"][3]["name"] = "email"
    bad["steps"][1]["items"][4]["type"] = "slider"
    bad["steps"][1]["items"][5]["validation"]["pattern"] = "(["
    bad["queue"][1]["name"] = "Job Title!"
    bad["consents"][0]["purpose"] = "spam"
    response = client.post(url, json.dumps(bad), content_type="application/json")
    assert response.status_code == 400
    errors = response.json()
    assert errors["steps"] == [EMAIL_FIRST]
    assert errors["steps.1.items.2.condition.field"] == [CONDITION_FIELD.format(name="seats")]
    assert "steps.1.items.3.name" in errors  # a second email field
    assert "steps.1.items.4.type" in errors and "steps.1.items.5.validation.pattern" in errors
    assert "queue.items.1.name" in errors and "consents.0.purpose" in errors
    for body in (b"[1]", b"not json", b"{" * 5000, json.dumps({"steps": "x"}).encode()):
        assert client.post(url, body, content_type="application/json").status_code == 400


def test_a_custom_question_cannot_take_a_reserved_name():
    _, errors = schema_clean(
        {
            "steps": [
                {
                    "items": [
                        {"type": "email", "name": "email", "label": "Email", "required": True},
                        {"type": "text", "name": "tags", "label": "Tags"},
                        {"type": "text", "name": "visitor_id", "label": "Visitor"},
                    ]
                }
            ]
        }
    )
    assert errors == {
        "steps.0.items.1.name": [RESERVED_NAME.format(name="tags")],
        "steps.0.items.2.name": [RESERVED_NAME.format(name="visitor_id")],
    }


def test_a_preview_checks_but_creates_nothing(client, marketer, built_form):
    WebForm.objects.filter(pk=built_form.pk).update(is_active=False)
    client.force_login(marketer)
    page = client.get(f"/forms/builder/{built_form.pk}/preview")
    assert page.status_code == 200 and b"preview-banner" in page.content
    url = f"/forms/builder/{built_form.pk}/preview/submit"
    bad = client.post(url, json.dumps({**FULL, "budget": "nope"}), content_type="application/json")
    assert bad.status_code == 400 and list(bad.json()) == ["budget"]
    good = client.post(url, json.dumps(FULL), content_type="application/json")
    assert good.status_code == 200 and good.json()["would_capture"]["attributes"]["budget"] == "10k-50k"
    assert not Lead.objects.exists() and not CaptureRecord.objects.exists()


def test_the_settings_form_sets_hosts_and_follow_ups(client, manager, built_form, team):
    client.force_login(manager)
    response = client.post(
        f"/forms/builder/{built_form.pk}/",
        {
            "name": "Demo request",
            "thank_you_message": "Thanks!",
            "redirect_url": "https://evil.example/x",
            "rate_limit": "10/m",
            "min_fill_seconds": 2,
            "hosts": "www.example.com\nlocalhost:8001",
            "follow_team": team.pk,
        },
    )
    assert response.status_code == 400  # the redirect's host is not allowed
    response = client.post(
        f"/forms/builder/{built_form.pk}/",
        {
            "name": "Demo request",
            "thank_you_message": "Thanks!",
            "redirect_url": "https://www.example.com/thanks",
            "rate_limit": "10/m",
            "min_fill_seconds": 2,
            "hosts": "www.example.com\nlocalhost:8001",
            "follow_team": team.pk,
        },
    )
    assert response.status_code == 302
    built_form.refresh_from_db()
    assert built_form.allowed_hosts == ["www.example.com", "localhost:8001"]
    assert built_form.schema["follow_ups"] == {"team": team.pk} and built_form.schema["steps"]


def test_analytics_show_known_counts(client, marketer, built_form):
    today = timezone.localdate()
    for metric, times in (("view", 10), ("start", 6), ("step:2", 3)):
        for _ in range(times):
            form_count(web_form_id=built_form.pk, metric=metric)
    form_count(web_form_id=built_form.pk, metric="view", day=today - timedelta(days=40))  # outside the range
    assert FormDayCount.objects.get(web_form=built_form, metric="view", day=today).count == 10
    assert post_json(client, built_form, {"email": "p@example.org", "company": "P", "_partial": "1"}).status_code == 201
    assert post_json(client, built_form, FULL).status_code == 201
    assert post_json(client, built_form, {**FULL, "email": "b@example.org"}).status_code == 201
    assert post_json(client, built_form, {**FULL, "hp_url": "x"}).status_code == 201  # a bot, refused
    Lead.objects.filter(email="b@example.org").update(status="qualified")
    client.force_login(marketer)
    response = client.get(f"/forms/builder/{built_form.pk}/analytics")
    assert response.status_code == 200
    stats = response.context["stats"]
    assert (stats.total_views, stats.total_starts, stats.total_submissions, stats.total_refused) == (10, 6, 2, 1)
    assert stats.partials == 1 and (stats.leads, stats.qualified, stats.customers) == (3, 1, 0)
    assert response.context["drop_off"] == [
        ("Step 1 (started)", 6, 100.0),
        ("Step 2", 3, 50.0),
        ("Submitted", 2, 100 * 2 / 6),
    ]
    assert round(stats.conversion) == 20
    html = response.content.decode()
    assert 'data-testid="total-views">10<' in html and "<svg" in html
    assert [r["reason"] for r in stats.refusals] == ["honeypot field filled"]
    assert client.get(f"/forms/builder/{built_form.pk}/analytics?from=2026-13-01").status_code == 400
    assert client.get(f"/forms/builder/{built_form.pk}/analytics?from=2020-01-01&to=2026-01-01").status_code == 400


def test_the_beacon_counts_starts_and_steps_and_refuses_the_rest(client, built_form):
    url = "/f/demo/beacon"
    assert (
        client.post(url, "start", content_type="text/plain", HTTP_ORIGIN="https://www.example.com").status_code == 204
    )
    assert client.post(url, "step:2", content_type="text/plain").status_code == 204
    assert client.post(url, "step:1", content_type="text/plain").status_code == 400
    assert client.post(url, "view';drop table", content_type="text/plain").status_code == 400
    assert client.post(url, "start", content_type="text/plain", HTTP_ORIGIN="https://evil.example").status_code == 403
    assert client.get("/f/demo/schema.json").status_code == 200
    counts = dict(FormDayCount.objects.values_list("metric", "count"))
    assert counts == {"start": 1, "step:2": 1, "view": 1}


def test_the_lists_take_a_fixed_number_of_queries(client, marketer, built_form, django_assert_num_queries):
    for n in range(5):
        WebFormFactory(name=f"Form {n}", key=f"form-{n}", schema=built_form.schema)
    client.force_login(marketer)
    client.get("/forms/builder/")  # warm the session and roles
    with django_assert_num_queries(3):
        assert client.get("/forms/builder/").status_code == 200
    for n in range(3):
        assert post_json(client, built_form, {**FULL, "email": f"q{n}@example.org"}).status_code == 201
    client.get(f"/forms/builder/{built_form.pk}/analytics")
    with django_assert_num_queries(8):
        assert client.get(f"/forms/builder/{built_form.pk}/analytics").status_code == 200
