"""Opens, signed click redirects and one-click unsubscribe of sequence email (public, no login)."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from leads.models import Interaction, Lead
from leads.models.nurturing import EmailSuppression, Enrollment, StepRun
from leads.nurturing.sequences import enrollments_process_due, lead_enroll
from leads.nurturing.tokens import CLICK_SALT, click_token
from tests.factories import (
    LeadFactory,
    PageViewFactory,
    SequenceFactory,
    SequenceStepFactory,
    TrackingSiteFactory,
    VisitorFactory,
)
from tests.leads.nurturing.smtp import smtp_inbox  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sequence():
    sequence = SequenceFactory(name="Onboarding")
    SequenceStepFactory(sequence=sequence, position=0, kind="email", subject="One", body="See https://acme.test/one")
    SequenceStepFactory(sequence=sequence, position=1, kind="wait", wait_days=1)
    SequenceStepFactory(sequence=sequence, position=2, kind="email", subject="Two", body="See https://acme.test/two")
    return sequence


@pytest.fixture
def sent(sequence, smtp_inbox):
    """A lead that got the first email; returns (lead, enrollment, message)."""
    lead = LeadFactory(email="ida@example.org")
    enrollment = lead_enroll(sequence=sequence, lead=lead)
    enrollments_process_due(now=timezone.now())
    assert len(smtp_inbox.messages) == 1
    return lead, enrollment, smtp_inbox.messages[0]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _links(message, kind: str) -> list[str]:
    html = message.get_body(("html",)).get_content()
    return [_path(url) for url in re.findall(rf'"(https://crm\.example\.com/e/{kind}/[^"]+)"', html)]


def test_open_pixel_marks_the_email_opened_once(sent):
    lead, enrollment, message = sent
    client = Client()
    (pixel,) = _links(message, "o")
    for _ in range(2):
        response = client.get(pixel)
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert StepRun.objects.get(enrollment=enrollment, step__position=0).opened_at is not None
    assert Interaction.objects.filter(lead=lead, kind=Interaction.Kind.EMAIL_OPENED).count() == 1
    lead.refresh_from_db()
    assert lead.emails_opened == 1
    assert client.get("/e/o/1.1:forged.gif").status_code == 200  # same answer, nothing recorded
    assert Interaction.objects.filter(kind=Interaction.Kind.EMAIL_OPENED).count() == 1


def test_click_redirects_to_the_signed_url_and_links_the_visitor(sent, django_capture_on_commit_callbacks):
    lead, enrollment, message = sent
    site = TrackingSiteFactory(name="Site", key="site1")
    visitor = VisitorFactory(site=site, visitor_key="v" * 20)
    PageViewFactory(site=site, visitor=visitor, url="https://acme.test/pricing", occurred_at=timezone.now())
    client = Client()
    client.cookies["_lcrm_vid"] = "v" * 20
    (link,) = _links(message, "c")
    with django_capture_on_commit_callbacks(execute=True):  # the visitor is identified after the click commits
        response = client.get(link)
    assert response.status_code == 302 and response["Location"] == "https://acme.test/one"
    run = StepRun.objects.get(enrollment=enrollment, step__position=0)
    assert run.clicked_at is not None and run.opened_at is not None
    assert (
        Interaction.objects.get(lead=lead, kind=Interaction.Kind.EMAIL_CLICKED).data["url"] == "https://acme.test/one"
    )
    visitor.refresh_from_db()
    assert visitor.lead_id == lead.pk  # the browser's page views now belong to the lead
    assert Interaction.objects.filter(lead=lead, kind=Interaction.Kind.PAGE_VIEW).count() == 1


def test_a_forged_click_target_is_refused(sent):
    lead, enrollment, message = sent
    step_id = StepRun.objects.get(enrollment=enrollment, step__position=0).step_id
    client = Client()
    (link,) = _links(message, "c")
    token = link.rsplit("/", 1)[1]
    # Another URL under the same ids, signed with the wrong key: no redirect.
    forged = signing.dumps(
        [enrollment.pk, step_id, "https://evil.test/"], salt=CLICK_SALT, key="not-our-secret", compress=True
    )
    assert client.get(f"/e/c/{forged}").status_code == 400
    # A genuine token with its URL swapped: the signature no longer matches.
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.get(f"/e/c/{tampered}").status_code == 400
    # A well-signed token for a step run that never existed: refused too.
    unknown = click_token(enrollment_id=999999, step_id=step_id, url="https://evil.test/")
    assert client.get(f"/e/c/{unknown}").status_code == 400
    assert not Interaction.objects.filter(kind=Interaction.Kind.EMAIL_CLICKED).exists()


def test_one_click_unsubscribe_get_confirms_post_unsubscribes_and_nothing_more_is_sent(sent, smtp_inbox):
    lead, enrollment, message = sent
    url = _path(message["List-Unsubscribe"].strip().strip("<>"))
    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    assert page.status_code == 200 and b"ida@example.org" in page.content
    assert not EmailSuppression.objects.exists()  # a link scanner's GET unsubscribes nobody
    # RFC 8058: the mail client posts List-Unsubscribe=One-Click, with no cookie and no CSRF token.
    response = client.post(url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and b'data-testid="unsubscribed"' in response.content
    assert EmailSuppression.objects.get(email="ida@example.org").reason == "unsubscribe"
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "unsubscribed")
    assert Interaction.objects.filter(lead=lead, kind=Interaction.Kind.UNSUBSCRIBE).count() == 1
    assert client.post(url).status_code == 200  # again: still fine, recorded once
    assert Interaction.objects.filter(lead=lead, kind=Interaction.Kind.UNSUBSCRIBE).count() == 1
    # Days later the wait is over, but the second email is not sent; nor will another sequence mail it.
    enrollments_process_due(now=timezone.now() + timezone.timedelta(days=3))
    assert len(smtp_inbox.messages) == 1
    other = SequenceFactory(name="Other")
    SequenceStepFactory(sequence=other, position=0, kind="email", subject="Hi", body="Hi")
    lead_enroll(sequence=other, lead=lead)
    enrollments_process_due(now=timezone.now())
    assert len(smtp_inbox.messages) == 1
    assert Enrollment.objects.get(sequence=other).exit_reason == "not_mailable"


def test_unsubscribe_form_button_works_and_forged_token_is_404(sent):
    lead, enrollment, message = sent
    url = _path(message["List-Unsubscribe"].strip().strip("<>"))
    client = Client()
    assert client.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Lead.objects.get(pk=lead.pk).email_opt_in is False
    assert client.get("/e/u/1.1:forged").status_code == 404
    assert client.post("/e/u/999.1:forged").status_code == 404
