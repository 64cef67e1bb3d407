"""Brute force: one rule for the client's address (leads.common.http.client_ip, forwarded addresses only
from TRUSTED_PROXIES), the token throttle and the login lock-out on it, and webhook limits that
unsigned posts cannot use up."""

import hashlib
import hmac
import json

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.core.management import call_command
from django.test import RequestFactory
from rest_framework.test import APIClient

from leads.common.http import client_ip
from leads.models import CaptureRecord, Lead, WebhookSource
from tests.factories import AccessAttemptFactory, RepFactory, WebhookSourceFactory

PASSWORD = "secret-pass-123"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()  # rate-limit counters live in this suite's Redis db
    yield
    cache.clear()


def request_from(remote: str, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_a_forwarded_address_is_ignored_by_default(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request_from("198.51.100.7", "203.0.113.1")) == "198.51.100.7"


def test_a_forwarded_address_is_read_only_from_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.1"]
    # Our two proxies appended what they saw; the client's own (forged) entries are further left.
    assert client_ip(request_from("10.0.0.5", "6.6.6.6, 203.0.113.1, 192.0.2.1")) == "203.0.113.1"
    assert client_ip(request_from("10.0.0.5", "")) == "10.0.0.5"
    assert client_ip(request_from("198.51.100.7", "203.0.113.1")) == "198.51.100.7"  # not from a proxy
    assert client_ip(request_from("10.0.0.5", "not-an-ip, 192.0.2.1")) == "192.0.2.1"  # garbage stops the walk


@pytest.mark.django_db
def test_the_token_throttle_cannot_be_dodged_with_x_forwarded_for(settings):
    """Broke: DRF keyed the throttle on X-Forwarded-For, so 40 guesses with a rotating header all went through."""
    settings.TRUSTED_PROXIES = []
    RepFactory(username="target", password=PASSWORD)
    client = APIClient()
    codes = [
        client.post(
            "/api/v1/auth/token",
            {"username": "target", "password": f"guess-{n}"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
            REMOTE_ADDR="198.51.100.7",
        ).status_code
        for n in range(40)
    ]
    assert codes.count(429) >= 30


@pytest.mark.django_db
def test_the_login_page_locks_a_username_out_after_failures_and_a_manager_unlocks_it(client, settings):
    """Broke: the HTML login page had no limit at all."""
    settings.TRUSTED_PROXIES = []
    RepFactory(username="target", password=PASSWORD)
    codes = [
        client.post(
            "/accounts/login/", {"username": "target", "password": f"guess-{n}"}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"
        ).status_code
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert codes == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]  # the form with its error, then locked
    locked = client.post(
        "/accounts/login/", {"username": "target", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="203.0.113.99"
    )
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert AccessAttempt.objects.filter(username="target").exists()

    call_command("axes_reset_username", "target")
    assert client.post("/accounts/login/", {"username": "target", "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_managers_see_and_clear_lockouts_in_admin(client, manager):
    AccessAttemptFactory(
        username="rep9", ip_address="198.51.100.7", failures_since_start=5, user_agent="x", path_info="/accounts/login/"
    )
    client.force_login(manager)
    page = client.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and "rep9" in page.content.decode()
    attempt = AccessAttempt.objects.get()
    assert client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not AccessAttempt.objects.exists()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.django_db
def test_unsigned_posts_cannot_lock_the_real_sender_out_and_leave_no_bodies(client, settings, team):
    """Broke: the limit was counted before the signature check, so 600 unsigned posts made the signed
    one a 429, and each unsigned attempt stored its body in the capture log."""
    settings.WEBHOOK_RATE, settings.WEBHOOK_UNSIGNED_RATE = "5/m", "3/m"
    source = WebhookSourceFactory(name="Ads", channel=WebhookSource.Channel.ADS, team=team, mapping={"email": "email"})
    url = f"/api/v1/capture/webhook/{source.key}"
    junk = json.dumps({"email": "attacker@example.com", "blob": "x" * 1000}).encode()
    codes = [
        client.generic(
            "POST", url, junk, content_type="application/json", HTTP_X_LEADCRM_SIGNATURE="sha256=00"
        ).status_code
        for _ in range(20)
    ]
    assert codes[:3] == [403, 403, 403] and set(codes[3:]) == {429}

    body = json.dumps({"email": "real@example.com"}).encode()
    signed = client.generic(
        "POST", url, body, content_type="application/json", HTTP_X_LEADCRM_SIGNATURE=sign(source.secret, body)
    )
    assert signed.status_code == 201
    assert Lead.objects.get().email == "real@example.com"
    rejected = CaptureRecord.objects.filter(result=CaptureRecord.Result.REJECTED)
    assert rejected.count() == 3  # over the unsigned limit nothing is written
    assert all(record.payload == {"unsigned_bytes": len(junk)} and not record.raw for record in rejected)
