"""Two-factor authentication: a manager's password alone opens nothing once 2FA is on, the API
token needs the code too, and MANAGER_2FA_REQUIRED makes managers set it up first. Codes come from
the device's own secret the way an authenticator app computes them (RFC 6238)."""

import re
from base64 import b32decode
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from leadcrm.twofactor.views import CODE_WRONG
from leads.api.views import OTP_SET_UP_FIRST, OTP_TOKEN_WRONG
from tests.factories import ManagerFactory, TOTPDeviceFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple 42"


@pytest.fixture(autouse=True)
def _clock():
    """The clock, moved forward by _later() as a person's next attempt would be."""
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        _CLOCK.append(traveller)
        yield
        _CLOCK.clear()


_CLOCK: list = []


def _later(*, seconds: float) -> None:
    _CLOCK[0].shift(timedelta(seconds=seconds))


def _code(device: TOTPDevice, *, step_offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + step_offset * device.step
    return f"{totp.token():06d}"


@pytest.fixture
def boss(db):
    user = ManagerFactory(username="boss")
    user.set_password(PASSWORD)
    user.save()
    return user


def _log_in(client, user):
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return response


def test_a_manager_sets_up_an_app_and_then_needs_its_code_after_the_password(client, boss):
    _log_in(client, boss)
    page = client.get("/accounts/2fa/")
    assert page.status_code == 200
    assert b"<svg" in page.content  # the QR code, drawn here
    secret = re.search(rb'data-testid="twofactor-secret">([A-Z2-7]+)<', page.content).group(1).decode()
    device = TOTPDevice.objects.get(user=boss, confirmed=False)
    assert b32decode(secret) == device.bin_key  # what the app is given is the device's key

    wrong = client.post("/accounts/2fa/", {"token": "000000" if _code(device) != "000000" else "111111"})
    assert wrong.status_code == 400 and CODE_WRONG in wrong.content.decode()
    _later(seconds=2)  # after a wrong code the next try waits a moment (django-otp's throttle)
    assert client.post("/accounts/2fa/", {"token": _code(device)}).status_code == 302
    assert TOTPDevice.objects.get(user=boss).confirmed

    client.post("/accounts/logout/")
    _log_in(client, boss)
    blocked = client.get("/")
    assert blocked.status_code == 302 and blocked["Location"].startswith("/accounts/2fa/verify/?next=/")
    assert client.get("/api/v1/leads").status_code in (302, 401, 403)  # the session alone opens no API either
    device.refresh_from_db()
    wrong = client.post("/accounts/2fa/verify/", {"token": "12345x", "next": "/"})
    assert wrong.status_code == 400
    _later(seconds=31)  # the next 30-second code
    ok = client.post("/accounts/2fa/verify/", {"token": _code(device), "next": "/"})
    assert ok.status_code == 302 and ok["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_code_is_good_once_and_the_next_url_never_leaves_the_site(client, boss):
    device = TOTPDeviceFactory(user=boss, name="app", confirmed=True)
    _log_in(client, boss)
    code = _code(device)
    first = client.post("/accounts/2fa/verify/", {"token": code, "next": "https://evil.example/"})
    assert first.status_code == 302 and first["Location"] == "/start/"  # LOGIN_REDIRECT_URL, not the other site
    client.post("/accounts/logout/")
    _log_in(client, boss)
    replay = client.post("/accounts/2fa/verify/", {"token": code})
    assert replay.status_code == 400  # a code seen once is spent


def test_the_api_token_needs_the_code_once_two_factor_is_on(client, boss):
    device = TOTPDeviceFactory(user=boss, name="app", confirmed=True)
    without = client.post("/api/v1/auth/token", {"username": "boss", "password": PASSWORD})
    assert without.status_code == 400 and without.json() == {"otp_token": [OTP_TOKEN_WRONG]}
    wrong = client.post("/api/v1/auth/token", {"username": "boss", "password": PASSWORD, "otp_token": "000001"})
    assert wrong.status_code == 400
    _later(seconds=2)
    right = client.post("/api/v1/auth/token", {"username": "boss", "password": PASSWORD, "otp_token": _code(device)})
    assert right.status_code == 200 and right.json()["token"]


def test_with_the_setting_a_manager_must_set_up_an_app_first_and_cannot_turn_it_off(client, boss, rep, settings):
    settings.MANAGER_2FA_REQUIRED = True
    _log_in(client, boss)
    forced = client.get("/")
    assert forced.status_code == 302 and forced["Location"].startswith("/accounts/2fa/?next=")
    no_token = client.__class__().post("/api/v1/auth/token", {"username": "boss", "password": PASSWORD})
    assert no_token.status_code == 403 and no_token.json() == {"otp_token": [OTP_SET_UP_FIRST]}

    client.get("/accounts/2fa/")
    device = TOTPDevice.objects.get(user=boss)
    assert client.post("/accounts/2fa/", {"token": _code(device)}).status_code == 302
    assert client.get("/").status_code == 200
    client.post("/accounts/2fa/remove/")
    assert TOTPDevice.objects.filter(user=boss, confirmed=True).exists()  # refused: still on

    rep.set_password(PASSWORD)
    rep.save()
    other = client.__class__()
    _log_in(other, rep)
    assert other.get("/").status_code in (200, 302) and "/accounts/2fa" not in other.get("/").get("Location", "")
