"""Fixtures of the rep email tests: the real SMTP server of the nurture tests, and the real Dovecot of
the IMAP tests (imported: pytest finds fixtures by name in a conftest)."""

import pytest

from tests.leads.capture.email.test_imap import dovecot, empty_mailboxes  # noqa: F401  (fixtures)
from tests.leads.nurturing.smtp import smtp_inbox  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def _rep_email_settings(settings):
    settings.EMAIL_LOGGING_ADDRESS = "log@crm.example.com"
    settings.REP_EMAIL_FROM = "own"
    settings.REP_EMAIL_RETRY_DELAYS = [60.0, 300.0]
    settings.PUBLIC_BASE_URL = "https://crm.example.com"
