"""The compose form (without JavaScript: a normal form; with htmx: the section) and the templates
page (a rep edits only their own; shared ones are visible to all; a fixed number of queries)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import EmailTemplate, RepEmail
from leads.rep_email.templates import TEMPLATE_SHARE_FORBIDDEN
from tests.factories import CustomerFactory, EmailTemplateFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(rep):
    rep.email = "rita@sales.example.com"
    rep.save()
    return LeadFactory(
        owner=rep,
        first_name="Ada",
        company="Analytical Engines",
        email="ada@analytical.example",
        time_zone="Asia/Tokyo",
    )


def test_templates_page_lists_own_and_shared_in_a_fixed_number_of_queries(
    client, rep, other_rep, manager, django_assert_num_queries
):
    for n in range(3):
        EmailTemplateFactory(owner=rep, name=f"Mine {n}", subject="S", body="B")
        EmailTemplateFactory(owner=other_rep, name=f"Theirs {n}", subject="S", body="B")
        EmailTemplateFactory(owner=manager, name=f"Shared {n}", subject="S", body="B", is_shared=True)
    client.force_login(rep)
    client.get(reverse("leads:email_templates"))  # warm the session and roles

    # session, user with its roles, templates (mine or shared, with owners); the same with 3 or 30 rows
    with django_assert_num_queries(3):
        page = client.get(reverse("leads:email_templates"))

    names = [item.name for item in page.context["items"]]
    assert sorted(names) == sorted([f"Mine {n}" for n in range(3)] + [f"Shared {n}" for n in range(3)])
    assert [item.editable for item in page.context["items"] if item.name.startswith("Shared")] == [False] * 3


def test_a_rep_edits_only_their_own_and_may_not_share(client, rep, other_rep):
    theirs = EmailTemplateFactory(owner=other_rep, name="Theirs", subject="S", body="B", is_shared=True)
    client.force_login(rep)
    assert (
        client.post(
            reverse("leads:email_template_edit", args=[theirs.pk]), {"name": "x", "subject": "s", "body": "b"}
        ).status_code
        == 403
    )
    assert client.post(reverse("leads:email_template_delete", args=[theirs.pk])).status_code == 403

    response = client.post(
        reverse("leads:email_templates"),
        {"kind": "template", "name": "Intro", "subject": "Hi", "body": "Hi", "is_shared": "on"},
    )
    assert response.status_code == 302  # a rep's form has no "shared" field: the template is private
    assert EmailTemplate.objects.get(name="Intro").is_shared is False
    bad = client.post(
        reverse("leads:email_templates"),
        {"kind": "template", "name": "Bad", "subject": "{{ lead.owner }}", "body": "x"},
    )
    assert bad.status_code == 400 and "Unknown or not allowed" in bad.content.decode()
    dup = client.post(
        reverse("leads:email_templates"), {"kind": "template", "name": "Intro", "subject": "Hi", "body": "Hi"}
    )
    assert dup.status_code == 400


def test_a_manager_shares_and_edits_a_shared_template(client, manager):
    from django.core.exceptions import ValidationError

    from leads.rep_email.templates import template_create

    client.force_login(manager)
    client.post(
        reverse("leads:email_templates"),
        {"kind": "snippet", "name": "Pricing", "body": "See https://x.example/p", "is_shared": "on"},
    )
    shared = EmailTemplate.objects.get(name="Pricing")
    assert shared.is_shared
    with pytest.raises(ValidationError) as refused:
        template_create(
            user=UserFactory(username="plain"), kind="template", name="x", subject="s", body="b", is_shared=True
        )
    assert refused.value.message_dict["is_shared"] == [TEMPLATE_SHARE_FORBIDDEN]


def test_compose_without_javascript_applies_a_template_previews_and_schedules_in_the_leads_time(client, rep, ada):
    template = EmailTemplateFactory(
        owner=rep,
        name="Intro",
        subject="Hello {{ lead.first_name }}",
        body="Dear {{ lead.first_name }} of {{ lead.company }},",
    )
    client.force_login(rep)
    url = reverse("leads:email_compose", args=[ada.pk])
    form = {"to": ada.email, "template": template.pk, "action": "apply"}

    applied = client.post(url, form)
    assert applied.status_code == 200
    assert applied.context["compose_form"]["subject"].value() == "Hello {{ lead.first_name }}"
    preview = client.post(url, {**form, "action": "preview", "subject": template.subject, "body": template.body})
    assert preview.context["email_preview"].subject == "Hello Ada"
    assert preview.context["email_preview"].body == "Dear Ada of Analytical Engines,"

    when = (
        (timezone.now() + timedelta(days=2))
        .astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
        .replace(hour=9, minute=30, second=0, microsecond=0)
    )
    scheduled = client.post(
        url,
        {
            **form,
            "action": "schedule",
            "subject": template.subject,
            "body": template.body,
            "send_at": when.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert scheduled.status_code == 302
    message = RepEmail.objects.get()
    assert (message.status, message.due_at, message.subject) == ("scheduled", when, "Hello Ada")
    page = client.get(ada.get_absolute_url()).content.decode()
    assert when.strftime("%Y-%m-%d 09:30") in page and "Asia/Tokyo" in page


def test_compose_errors_answer_400_with_the_field_messages(client, rep, ada):
    client.force_login(rep)
    url = reverse("leads:email_compose", args=[ada.pk])
    response = client.post(
        url, {"to": "not an address", "subject": "x", "body": "y", "action": "send"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400 and "Not an email address" in response.content.decode()
    past = client.post(
        url, {"to": ada.email, "subject": "x", "body": "y", "action": "schedule", "send_at": "2001-01-01T10:00"}
    )
    assert past.status_code == 400 and "Choose a time in the future" in past.content.decode()
    assert client.post(url, {"action": "nonsense"}).status_code == 400
    assert not RepEmail.objects.exists()


def test_a_reader_cannot_email_and_another_reps_lead_is_not_found(client, rep, other_rep, ada):
    client.force_login(other_rep)
    response = client.post(
        reverse("leads:email_compose", args=[ada.pk]), {"to": ada.email, "subject": "x", "body": "y"}
    )
    assert response.status_code in (403, 404)
    assert not RepEmail.objects.exists()


def test_an_open_redirect_is_refused_after_sending(client, rep, ada):
    client.force_login(rep)
    response = client.post(
        reverse("leads:email_compose", args=[ada.pk]),
        {"to": ada.email, "subject": "x", "body": "y", "action": "send", "back": "https://evil.example/"},
    )
    assert response.status_code == 302 and response["Location"] == ada.get_absolute_url()


def test_the_customer_page_offers_the_compose_for_its_lead(client, rep, ada):
    customer = CustomerFactory(lead=ada, owner=rep)
    ada.converted_customer = customer
    ada.save()
    client.force_login(rep)
    page = client.get(reverse("customers:detail", args=[customer.pk]))
    assert page.status_code == 200
    assert 'data-testid="customer-email"' in page.content.decode()
    assert page.context["email_lead"] == ada
