"""A rep emails a lead from the lead page in headless Chromium: picks a template, previews, sends;
a real Celery worker sends it through a real SMTP server (aiosmtpd), and the message shows on the
timeline as a thread. The lead's reply and a message the rep BCC'd to the logging address from their
own mail client arrive in a mailbox of a real IMAP server (Dovecot); after the poll the page shows the
reply in the same thread and the BCC'd message as a thread of its own. Photographed into
tests/e2e/screenshots/."""

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from leads.capture.email.imap import mailboxes_poll
from leads.models import RepEmail
from tests.e2e.conftest import log_in
from tests.factories import EmailTemplateFactory, LeadFactory
from tests.helpers import wait_for
from tests.leads.capture.email.test_imap import deliver, dovecot, empty_mailboxes, mailbox_for  # noqa: F401
from tests.leads.nurturing.smtp import smtp_inbox  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _mail(*, sender: str, to: str, subject: str, body: str, **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">"))
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return bytes(mail)


def expand(thread) -> None:
    """Open a collapsed thread as a rep does, by clicking its summary (the newest thread is open already)."""
    if thread.get_attribute("open") is None:
        thread.locator("summary").first.click()


def test_a_rep_composes_from_a_template_and_sends(  # noqa: F811
    page, live_server, settings, rep, smtp_inbox, empty_mailboxes, celery_worker_live, shoot
):
    settings.EMAIL_LOGGING_ADDRESS = "log@crm.example.com"
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

    # The lead answers, and the rep BCCs the logging address from their own mail client.
    mailbox_for(empty_mailboxes)
    reply = _mail(
        sender="Ada <ada@analytical.example>",
        to="rita@sales.example.com",
        subject="Re: Hello Ada",
        body="Thanks Rita, Tuesday works.",
        In_Reply_To=message.message_id,
        References=message.message_id,
    )
    bcc = _mail(
        sender="Rita Rep <rita@sales.example.com>",
        to="Ada <ada@analytical.example>",
        subject="Our call",
        body="Great talking today.",
        Delivered_To="log@crm.example.com",  # a BCC copy: the logging address is only on the envelope
    )
    deliver(empty_mailboxes, reply, bcc)
    [result] = mailboxes_poll()
    assert result.kinds == {"reply": 1, "logged": 1}

    page.goto(f"{live_server.url}/leads/{ada.pk}")
    threads = page.locator("[data-testid=email-thread]")
    assert threads.count() == 2  # the conversation, and the BCC'd message
    conversation = threads.filter(has_text="Hello Ada")
    assert conversation.locator("[data-testid=thread-message]").count() == 2
    expand(conversation)
    text = conversation.inner_text()
    assert "Thanks Rita, Tuesday works." in text
    assert text.index("Received from ada@analytical.example") < text.index("Sent by rep1")  # newest first
    logged = threads.filter(has_text="Our call")
    expand(logged)
    assert "Great talking today." in logged.inner_text() and "(logged)" in logged.inner_text()
    shoot(page, "rep-email-thread-with-reply")
