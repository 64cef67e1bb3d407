"""A web form sent faster than its minimum fill time: the visitor is thanked, the submission is
held with its reason, counted on the form's stats, and a manager can release it into the pipeline."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError

from leads.capture.webform_submissions import HELD_NOT_FOUND, held_submission_release, web_form_stats
from leads.capture.webforms import HONEYPOT_FIELD, TIMESTAMP_FIELD
from leads.models import CaptureRecord, Lead
from tests.leads.capture.test_webforms import (
    stamp,
    submission,
    web_form,  # noqa: F401  (fixture)
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _too_fast(client, web_form, **overrides):
    # A minimum far above the test's own time: a slow first request on a busy machine stays "too fast".
    web_form.min_fill_seconds = 60
    web_form.save(update_fields=["min_fill_seconds"])
    return client.post("/f/pricing", submission(web_form, **{TIMESTAMP_FIELD: stamp(web_form, age=0.3)}, **overrides))


def test_a_too_fast_submission_is_thanked_held_with_its_reason_and_counted(client, web_form):
    """It was thanked and dropped with no trace a manager could find."""
    response = _too_fast(client, web_form)
    assert response.status_code == 200 and b"Thank you!" in response.content
    assert not Lead.objects.exists()  # the anti-bot rule stands
    record = CaptureRecord.objects.get()
    assert record.result == CaptureRecord.Result.HELD and record.web_form == web_form
    assert record.reason.startswith("filled in ") and record.reason.endswith("s (minimum 60s)"), record.reason
    assert record.payload["email"] == "linus@kernel.example" and TIMESTAMP_FIELD not in record.payload
    client.post("/f/pricing", submission(web_form, **{HONEYPOT_FIELD: "http://spam.example"}))
    (stats,) = web_form_stats()
    assert (stats.captured, stats.held, stats.held_waiting, stats.released, stats.refused) == (0, 1, 1, 0, 1)


def test_a_manager_sees_and_releases_a_held_submission_once(client, manager, web_form):
    _too_fast(client, web_form)
    record = CaptureRecord.objects.get(result=CaptureRecord.Result.HELD)
    client.force_login(manager)
    page = client.get("/forms/").content.decode()
    assert "linus@kernel.example" in page and record.reason in page and 'data-testid="held-count">1' in page
    response = client.post(f"/forms/held/{record.pk}/release", follow=True)
    assert response.status_code == 200 and "Released:" in response.content.decode()
    lead = Lead.objects.get()
    assert lead.email == "linus@kernel.example" and lead.team == web_form.team and lead.source == Lead.Source.WEB_FORM
    assert lead.email_opt_in and "pricing" in lead.tags  # the same capture as any submission: consent, tags
    record.refresh_from_db()
    assert record.released_by == manager and record.lead == lead
    assert CaptureRecord.objects.filter(result=CaptureRecord.Result.CREATED, lead=lead, web_form=web_form).exists()
    with pytest.raises(ValidationError) as caught:
        held_submission_release(record_id=record.pk, by=manager)
    assert caught.value.messages == [HELD_NOT_FOUND]
    assert Lead.objects.count() == 1
    (stats,) = web_form_stats()
    assert (stats.captured, stats.held, stats.held_waiting, stats.released) == (1, 1, 0, 1)
    assert "Nothing held." in client.get("/forms/").content.decode()


def test_a_held_submission_that_fails_the_checks_is_not_released(client, manager, web_form):
    _too_fast(client, web_form, email="not-an-email")
    record = CaptureRecord.objects.get(result=CaptureRecord.Result.HELD)
    client.force_login(manager)
    body = client.post(f"/forms/held/{record.pk}/release", follow=True).content.decode()
    assert "does not pass the form" in body and "email" in body
    assert not Lead.objects.exists()
    record.refresh_from_db()
    assert record.released_at is None


def test_only_managers_see_the_web_forms_page(client, rep, marketer, manager, web_form):
    for user in (rep, marketer):
        client.force_login(user)
        assert client.get("/forms/").status_code == 403
    _too_fast(client, web_form)
    client.force_login(rep)
    assert client.post(f"/forms/held/{CaptureRecord.objects.get().pk}/release").status_code == 403
    client.force_login(manager)
    assert 'data-testid="nav-web-forms"' in client.get("/forms/").content.decode()


@pytest.mark.parametrize("n", [1, 6])
def test_the_web_forms_page_reads_a_fixed_number_of_queries(client, manager, web_form, n, django_assert_num_queries):
    for _ in range(n):
        _too_fast(client, web_form)
    client.force_login(manager)
    # session, user with its role groups, the forms with their counts, the held submissions
    with django_assert_num_queries(4):
        assert client.get("/forms/").status_code == 200
