"""Error pages in the site's layout, a favicon, and a 403 logged once without a traceback."""

import logging

import pytest
from django.test import Client, override_settings
from django.urls import include, path

from leadcrm.errors import server_error

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("boom")


# The site's URLs plus one that fails (this module is the ROOT_URLCONF of the 500 test).
urlpatterns = [path("boom", _boom), path("", include("leadcrm.urls"))]
handler500 = "leadcrm.errors.server_error"


def test_a_403_uses_the_layout_with_the_navigation(client, rep):
    """A rep opening a manager's page got a bare "403 Forbidden" with no way on."""
    client.force_login(rep)
    response = client.get("/distribution/")
    body = response.content.decode()
    assert response.status_code == 403
    assert (
        'data-testid="main-nav"' in body and 'data-testid="error-page"' in body and "You may not open this page" in body
    )
    assert 'rel="icon"' in body


def test_a_404_uses_the_layout(client, rep):
    client.force_login(rep)
    response = client.get("/leads/999999999")
    assert response.status_code == 404
    assert b'data-testid="main-nav"' in response.content and b"Page not found" in response.content


def test_a_404_for_a_visitor_offers_the_login(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and b'href="/accounts/login/"' in response.content


@override_settings(ROOT_URLCONF=__name__)
def test_a_500_uses_the_layout_with_the_users_navigation(rep, rf):
    client = Client(raise_request_exception=False)
    client.force_login(rep)
    response = client.get("/boom")
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content and b'data-testid="main-nav"' in response.content


def test_the_500_page_renders_without_a_request_too(rf):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/")
    request.user = AnonymousUser()
    response = server_error(request)
    assert response.status_code == 500 and b"Something went wrong" in response.content


def test_the_favicon_is_served(client):
    """Every page logged a 404 for /favicon.ico."""
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("leadcrm/favicon.svg")
    from django.contrib.staticfiles import finders

    assert finders.find("leadcrm/favicon.svg")


def _emitting_handlers(logger_name: str, record: logging.LogRecord) -> list[logging.Handler]:
    """The handlers a record of `logger_name` reaches and that would write it."""
    found, logger = [], logging.getLogger(logger_name)
    while logger:
        found += [
            h
            for h in logger.handlers
            if not type(h).__module__.startswith("_pytest") and record.levelno >= h.level and h.filter(record)
        ]
        if not logger.propagate:
            break
        logger = logger.parent
    return found


@pytest.mark.parametrize("debug", [True, False])
def test_a_403_is_logged_once_and_without_its_traceback(client, rep, settings, debug):
    """With DEBUG, Django's own console handler and ours both wrote the 403's traceback."""
    settings.DEBUG = debug
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    keep = Keep()
    logging.getLogger("django.request").addHandler(keep)
    try:
        client.force_login(rep)
        assert client.get("/distribution/").status_code == 403
    finally:
        logging.getLogger("django.request").removeHandler(keep)
    (record,) = [r for r in records if r.status_code == 403]
    record = logging.makeLogRecord(record.__dict__)  # a fresh copy for the handlers below
    assert len(_emitting_handlers("django.request", record)) == 1
    assert record.exc_info is None  # the console's filter dropped the PermissionDenied traceback
