"""Shared fixtures: one user per role, a team, API clients, a real Celery worker."""

import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import (
    ManagerFactory,
    MarketerFactory,
    RepFactory,
    TeamFactory,
    TeamMembershipFactory,
)


def pytest_configure(config):
    # Standards: tests run on the real PostgreSQL and Redis; under CI nothing may silently fall back.
    if os.environ.get("CI") and settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise pytest.UsageError("CI must run the suite on PostgreSQL (set DATABASE_URL).")
    if os.environ.get("CI") and not settings.REDIS_URL:
        raise pytest.UsageError("CI must run the suite with Redis (set REDIS_URL).")


# The year-ahead check (`make test-clock-ahead`): every test runs with the clock moved this many
# days ahead, so a test that hard-codes "a date in the future" fails now rather than the day that
# date passes. Time still ticks; only Python's clock moves (PostgreSQL's now() and other processes
# do not), which is why the check runs the date-sensitive tests, not the whole suite.
CLOCK_SHIFT_DAYS = int(os.environ.get("LEADCRM_TEST_CLOCK_SHIFT_DAYS") or 0)


@pytest.fixture(autouse=True)
def _clock_shift():
    if not CLOCK_SHIFT_DAYS:
        yield
        return
    import time_machine

    with time_machine.travel(datetime.now(UTC) + timedelta(days=CLOCK_SHIFT_DAYS), tick=True):
        yield


@pytest.fixture(autouse=True)
def _fresh_web_form_copies():
    """Each process keeps active web forms for a few seconds; a rolled-back test leaves no signal."""
    from leads.capture.webforms import web_forms_forget

    web_forms_forget()


@pytest.fixture(autouse=True)
def _broker_trusted_again():
    """A test that stopped a broker leaves the publisher backing off for a few seconds (leads.jobs);
    the next test's jobs must not wait for the sweeper because of it."""
    from leads import jobs

    jobs.publisher_forget_failures()


@pytest.fixture(autouse=True)
def _publisher_connection_released():
    """The publishing thread keeps its database connection for a moment after a publish (leads.jobs):
    let go of it after each test, so that no test (and not the test database's drop) meets it."""
    yield
    from leads import jobs

    if jobs._publisher is not None:
        jobs.publisher_release_connection()


@pytest.fixture(autouse=True)
def _no_enabled_automations_cached():
    """Each test starts knowing of no enabled automation, without a query (the reactions keep the
    enabled ones in memory for a few seconds; a stale copy would leak between tests, and a lazy
    load would add a query to whichever test published the first event)."""
    from leads.automations import reactions

    reactions._cache = (float("inf"), {})
    yield
    reactions._cache = (float("inf"), {})


@pytest.fixture(autouse=True)
def _no_webhook_subscriptions_cached():
    """Every test starts with no webhook subscriptions: the process's table says so, so that events
    read nothing (and query counts do not depend on when an earlier test read it)."""
    from leads.outbound.subscriptions import subscriptions_assume_none

    subscriptions_assume_none()


@pytest.fixture(autouse=True)
def _no_tombstones_cached():
    """Every test starts knowing of no erasure tombstone (leads.privacy.tombstones), without a query:
    capture, import and sending check them, and their query counts must not depend on the cache."""
    from leads.privacy import tombstones

    tombstones.tombstones_assume_none()
    yield
    tombstones.tombstones_assume_none()


@pytest.fixture
def team(db):
    return TeamFactory(name="Inside Sales")


@pytest.fixture
def manager(db):
    return ManagerFactory(username="manager")


@pytest.fixture
def marketer(db):
    return MarketerFactory(username="marketer")


@pytest.fixture
def rep(team):
    user = RepFactory(username="rep1")
    TeamMembershipFactory(team=team, user=user)
    return user


@pytest.fixture
def other_rep(team):
    user = RepFactory(username="rep2")
    TeamMembershipFactory(team=team, user=user)
    return user


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api_as():
    """api_as(user) -> an APIClient authenticated with the user's token."""
    return client_for


@pytest.fixture
def celery_worker_live(transactional_db):
    """A real Celery worker thread consuming from the test Redis broker."""
    from celery.contrib.testing.worker import start_worker

    from leadcrm.celery import app

    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is not installed (apt-get install chromium)"
    # Playwright's sync API runs an event loop in this thread, and the ORM refuses to run
    # beside one unless told it is safe (it is: the loop only drives the browser).
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
