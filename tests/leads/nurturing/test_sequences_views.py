"""The marketers' sequence pages: list, editor, steps, preview and test send, enrollments, stats."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.common.rendering import TAG_NOT_ALLOWED, VARIABLE_NOT_ALLOWED
from leads.models.nurturing import Enrollment, Sequence, StepRun
from leads.nurturing.forms import BRANCH_TARGET_LATER, LEAD_NOT_FOUND, SUBJECT_REQUIRED
from leads.nurturing.sequences import LEAD_NOT_ENROLLABLE, enrollments_process_due, lead_enroll
from tests.factories import LeadFactory, SequenceFactory, SequenceStepFactory
from tests.leads.nurturing.smtp import smtp_inbox  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sequence():
    sequence = SequenceFactory(name="Trial nurture")
    SequenceStepFactory(
        sequence=sequence, position=0, kind="email", subject="Hi {{ lead.first_name }}", body="Hello {{ lead.company }}"
    )
    SequenceStepFactory(sequence=sequence, position=1, kind="wait", wait_days=2)
    return sequence


def test_reps_get_403_on_the_marketing_pages(rep, sequence):
    client = _client(rep)
    for url in (
        reverse("leads:sequence_list"),
        reverse("leads:sequence_detail", args=[sequence.pk]),
        reverse("leads:sequence_enrollments", args=[sequence.pk]),
        reverse("leads:sequence_stats", args=[sequence.pk]),
    ):
        assert client.get(url).status_code == 403


def test_marketer_creates_a_sequence_and_builds_its_steps(marketer):
    client = _client(marketer)
    response = client.post(
        reverse("leads:sequence_list"),
        {"name": "Webinar follow-up", "is_active": "on", "entry_statuses": ["nurturing"]},
    )
    sequence = Sequence.objects.get(name="Webinar follow-up")
    assert response.status_code == 302 and sequence.entry_statuses == ["nurturing"] and sequence.created_by == marketer
    add = reverse("leads:sequence_step_create", args=[sequence.pk])
    assert (
        client.post(
            add,
            {
                "kind": "email",
                "subject": 'Thanks {{ lead.first_name|default:"there" }}',
                "body": "Slides: https://acme.test/s",
            },
        ).status_code
        == 302
    )
    assert client.post(add, {"kind": "wait", "wait_days": "3"}).status_code == 302
    assert client.post(add, {"kind": "email", "subject": "Next", "body": "More"}).status_code == 302
    steps = list(sequence.steps.order_by("position"))
    assert [(s.position, s.kind) for s in steps] == [(0, "email"), (1, "wait"), (2, "email")]
    # Reorder: the last email moves up; positions stay 0..n-1.
    client.post(reverse("leads:sequence_step_move", args=[sequence.pk, steps[2].pk]), {"direction": "up"})
    assert list(sequence.steps.order_by("position").values_list("pk", flat=True)) == [
        steps[0].pk,
        steps[2].pk,
        steps[1].pk,
    ]
    client.post(reverse("leads:sequence_step_delete", args=[sequence.pk, steps[2].pk]))
    assert list(sequence.steps.order_by("position").values_list("position", "kind")) == [(0, "email"), (1, "wait")]
    page = client.get(reverse("leads:sequence_detail", args=[sequence.pk]))
    assert page.status_code == 200 and b"Thanks" in page.content


def test_the_editor_refuses_unsafe_templates_with_a_clear_message(marketer, sequence):
    client = _client(marketer)
    add = reverse("leads:sequence_step_create", args=[sequence.pk])
    response = client.post(add, {"kind": "email", "subject": "x", "body": "{% load static %}{% static 'a' %}"})
    assert response.status_code == 400
    assert TAG_NOT_ALLOWED.format(tag="load") in response.content.decode()
    response = client.post(add, {"kind": "email", "subject": "{{ lead.email }}", "body": "x"})
    assert response.status_code == 400
    assert "Unknown or not allowed: {{ lead.email }}" in response.content.decode()
    response = client.post(add, {"kind": "email", "subject": "", "body": "{% include 'base.html' %}"})
    assert (
        SUBJECT_REQUIRED in response.content.decode()
        and TAG_NOT_ALLOWED.format(tag="include") in response.content.decode()
    )
    assert sequence.steps.count() == 2
    assert VARIABLE_NOT_ALLOWED  # the message constant the editor shows


def test_a_branch_must_jump_forward(marketer, sequence):
    client = _client(marketer)
    first, wait = sequence.steps.order_by("position")
    branch = SequenceStepFactory(sequence=sequence, position=2, kind="branch", branch_on="opened")
    response = client.post(
        reverse("leads:sequence_step_edit", args=[sequence.pk, branch.pk]),
        {"kind": "branch", "branch_on": "opened", "branch_target": first.pk},
    )
    assert response.status_code == 400
    assert BRANCH_TARGET_LATER in response.content.decode() or "Select a valid choice" in response.content.decode()


def test_preview_renders_for_a_lead_and_test_send_goes_to_the_marketer(marketer, sequence, smtp_inbox):
    marketer.email = "marketer@acme.test"
    marketer.save()
    lead = LeadFactory(first_name="Noor", company="Globex")
    step = sequence.steps.get(position=0)
    client = _client(marketer)
    url = reverse("leads:sequence_step_preview", args=[sequence.pk, step.pk])
    page = client.get(url, {"lead": lead.email})
    assert page.status_code == 200
    assert b'data-testid="preview-subject">Hi Noor<' in page.content and b"Hello Globex" in page.content
    assert client.get(url, {"lead": "nobody@nowhere.test"}).status_code == 400
    response = client.post(url, {"lead": lead.pk})
    assert response.status_code == 200
    (message,) = smtp_inbox.messages
    assert message["To"] == "marketer@acme.test" and message["Subject"] == "[Test] Hi Noor"
    assert not StepRun.objects.exists()  # a test send is not a step run


def test_enrollment_list_manual_enroll_and_remove(marketer, sequence):
    client = _client(marketer)
    lead = LeadFactory(email="kim@example.org")
    url = reverse("leads:sequence_enrollments", args=[sequence.pk])
    assert client.post(url, {"lead": "kim@example.org"}).status_code == 302
    enrollment = Enrollment.objects.get(sequence=sequence, lead=lead)
    again = client.post(url, {"lead": str(lead.pk)})
    assert again.status_code == 400 and LEAD_NOT_ENROLLABLE in again.content.decode()
    assert LEAD_NOT_FOUND in client.post(url, {"lead": "999999"}).content.decode()
    page = client.get(url)
    assert page.status_code == 200 and b"kim@example.org" in page.content or str(lead).encode() in page.content
    client.post(reverse("leads:sequence_enrollment_remove", args=[sequence.pk, enrollment.pk]))
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "manual")


def test_stats_page_counts_in_constant_queries(marketer, sequence, smtp_inbox, django_assert_max_num_queries):
    leads = LeadFactory.create_batch(3)
    for lead in leads:
        lead_enroll(sequence=sequence, lead=lead)
    enrollments_process_due(now=timezone.now())
    StepRun.objects.filter(lead=leads[0], step__position=0).update(opened_at=timezone.now(), clicked_at=timezone.now())
    Enrollment.objects.filter(lead=leads[1]).update(status="exited", exit_reason="replied")
    client = _client(marketer)
    url = reverse("leads:sequence_stats", args=[sequence.pk])
    with django_assert_max_num_queries(12):
        page = client.get(url)
    html = page.content.decode()
    assert 'data-metric="enrolled">3<' in html and 'data-metric="sent">3<' in html
    assert (
        'data-metric="opened">1<' in html and 'data-metric="clicked">1<' in html and 'data-metric="replied">1<' in html
    )
    assert 'data-testid="stats-chart"' in html
    from leads.nurturing.stats import sequence_stats

    stats = sequence_stats(sequence=sequence)
    assert stats.steps[0].exits["replied"] == 1 and stats.steps[0].open_rate == pytest.approx(33.3)


def test_a_rep_enrolls_a_lead_they_can_see_from_the_lead_page(rep, other_rep, sequence):
    mine = LeadFactory(owner=rep)
    theirs = LeadFactory(owner=other_rep)
    client = _client(rep)
    url = reverse("leads:nurture_enroll_lead")
    response = client.post(url, {"lead": mine.pk, "sequence": sequence.pk})
    assert response.status_code == 302 and response["Location"] == mine.get_absolute_url()
    assert Enrollment.objects.filter(lead=mine, sequence=sequence, source="manual", enrolled_by=rep).exists()
    assert client.post(url, {"lead": theirs.pk, "sequence": sequence.pk}).status_code == 404
    assert not Enrollment.objects.filter(lead=theirs).exists()
    evil = client.post(url, {"lead": mine.pk, "sequence": sequence.pk, "next": "https://evil.test/"})
    assert evil["Location"] == mine.get_absolute_url()


def test_the_list_counts_each_sequence_in_constant_queries(marketer, sequence, django_assert_max_num_queries):
    other = SequenceFactory(name="Another")
    for lead in LeadFactory.create_batch(3):
        lead_enroll(sequence=sequence, lead=lead)
    lead_enroll(sequence=other, lead=LeadFactory())
    Enrollment.objects.filter(pk=Enrollment.objects.filter(sequence=sequence).values("pk")[:1]).update(
        status="completed"
    )
    client = _client(marketer)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("leads:sequence_list"))
    rows = {row.split("</a>")[0].rsplit(">", 1)[1]: row for row in page.content.decode().split("<tr>")[2:]}
    cells = [cell.split("<")[0] for cell in rows["Trial nurture"].split('class="text-end">')[1:]]
    assert cells == ["2", "2", "3"]  # steps, active, enrolled in all
