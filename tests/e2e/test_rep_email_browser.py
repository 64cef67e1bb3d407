"""A rep emails a lead from the lead page in headless Chromium: picks a template, previews, sends;
a real Celery worker sends it through a real SMTP server (aiosmtpd), and the message shows on the
timeline as a thread. Photographed into tests/e2e/screenshots/."""

import pytest

from leads.models import RepEmail
from tests.e2e.conftest import log_in
from tests.factories import EmailTemplateFactory, LeadFactory
from tests.helpers import wait_for
from tests.leads.nurturing.smtp import smtp_inbox  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_rep_composes_from_a_template_and_sends(page, live_server, rep, smtp_inbox, celery_worker_live, shoot):  # noqa: F811
    rep.first_name, rep.last_name, rep.email = "Rita", "Rep", "rita@sales.example.com"
    rep.save()
    ada = LeadFactory(
        owner=rep,
        first_name="Ada",
        company="Analytical Engines",
        email="ada@analytical.example",
        time_zone="Europe/London",
    )
    EmailTemplateFactory(
        owner=rep,
        name="Intro",
        subject="Hello {{ lead.first_name }}",
        body="Dear {{ lead.first_name }},\nsee https://example.com/demo",
    )

    log_in(page, live_server.url, "rep1")
    page.goto(f"{live_server.url}/leads/{ada.pk}")
    page.evaluate("window.__stayed = true")
    compose = page.locator("[data-testid=email-compose]")
    compose.locator("select[name=template]").select_option(label="Intro")
    compose.locator("[data-testid=email-apply]").click()
    page.wait_for_function(
        "document.querySelector('#lead-email input[name=subject]').value === 'Hello {{ lead.first_name }}'"
    )
    page.locator("[data-testid=email-preview-button]").click()
    page.wait_for_selector("[data-testid=email-preview-subject] >> text=Hello Ada")
    shoot(page, "rep-email-compose")
    page.locator("[data-testid=email-send]").click()
    page.wait_for_selector("[data-testid=email-flash]")
    assert page.evaluate("window.__stayed === true")  # no reload: htmx swapped the section

    assert wait_for(lambda: len(smtp_inbox.messages) == 1, timeout=30)
    [mail] = smtp_inbox.messages
    message = RepEmail.objects.get()
    assert (mail["From"], mail["Subject"], mail["Message-ID"]) == (
        "Rita Rep <rita@sales.example.com>",
        "Hello Ada",
        message.message_id,
    )
    assert wait_for(lambda: RepEmail.objects.get().status == "sent", timeout=10)

    page.goto(f"{live_server.url}/leads/{ada.pk}")
    thread = page.locator("[data-testid=email-thread]")
    assert thread.count() == 1
    assert "Hello Ada" in thread.inner_text()
    shoot(page, "rep-email-thread")
