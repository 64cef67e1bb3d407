"""Admin → Twilio accounts: a manager adds one (the token is never shown again), and it decides
over the environment's account with the same SID."""

import pytest
from django.test import Client

from leads.models import TwilioAccount
from leads.telephony.admin import ACCOUNT_SID_INVALID, TOKEN_REQUIRED
from tests.factories import ManagerFactory, TwilioAccountFactory

from .conftest import ACCOUNT_SID, AUTH_TOKEN, inbound

pytestmark = pytest.mark.django_db
SECOND = "AC" + "3" * 32


@pytest.fixture
def manager_client():
    client = Client()  # admin's own CSRF is Django's, tested there
    client.force_login(ManagerFactory(username="switchboard", password=None))
    return client


def test_a_manager_adds_an_account_and_its_token_is_kept_but_never_shown(manager_client):
    page = manager_client.get("/admin/leads/twilioaccount/add/")
    assert page.status_code == 200
    response = manager_client.post(
        "/admin/leads/twilioaccount/add/",
        {"name": "Sales line", "account_sid": SECOND, "auth_token": "secret-token-xyz", "is_active": "on"},
    )
    assert response.status_code == 302, response.content
    account = TwilioAccount.objects.get(account_sid=SECOND)
    change = manager_client.get(f"/admin/leads/twilioaccount/{account.pk}/change/")
    assert b"secret-token-xyz" not in change.content
    assert b"/telephony/twilio/voice" in change.content and b"/telephony/twilio/status" in change.content
    manager_client.post(
        f"/admin/leads/twilioaccount/{account.pk}/change/",
        {"name": "Sales line 2", "account_sid": SECOND, "auth_token": "", "is_active": "on"},
    )
    account.refresh_from_db()
    assert (account.name, account.auth_token) == ("Sales line 2", "secret-token-xyz")


def test_the_form_refuses_a_bad_sid_and_a_missing_token(manager_client):
    response = manager_client.post(
        "/admin/leads/twilioaccount/add/",
        {"name": "x", "account_sid": "AC123", "auth_token": "", "is_active": "on"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert (errors["account_sid"], errors["auth_token"]) == ([ACCOUNT_SID_INVALID], [TOKEN_REQUIRED])
    assert not TwilioAccount.objects.exists()


def test_a_switched_off_row_refuses_the_environments_account_too(client, team):
    TwilioAccountFactory(name="Paused", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, is_active=False)
    assert inbound(client, caller="+442079460958").status_code == 403
