"""The cheap capture path (issue 22 §2): what it skips, and what it must keep doing."""

import threading
import time
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, RequestFactory

from leads import jobs
from leads.middleware import capture_request_is_lean
from leads.models import CaptureRecord, Lead, OutboxJob, WebForm
from leads.privacy import tombstones
from tests.conftest import client_for
from tests.factories import WebFormFactory
from tests.leads.capture.test_webforms import stamp

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def web_form(team):
    return WebFormFactory(
        name="Demo",
        key="demo",
        team=team,
        fields=["first_name", "email"],
        required_fields=["email"],
        rate_limit="2/m",
        min_fill_seconds=0,
    )


def post(client, form: WebForm, email: str, **extra):
    return client.post(f"/f/{form.key}", {"email": email, "first_name": "Ada", "_ts": stamp(form)}, **extra)


def test_only_form_posts_and_token_api_posts_are_lean():
    factory = RequestFactory()
    assert capture_request_is_lean(factory.post("/f/pricing"))
    assert not capture_request_is_lean(factory.get("/f/pricing"))
    assert not capture_request_is_lean(factory.post("/f/pricing/beacon"))
    assert capture_request_is_lean(factory.post("/api/v1/capture", HTTP_AUTHORIZATION="Token abc"))
    # A browser's session on the API keeps the whole stack: CSRF is checked for it.
    assert not capture_request_is_lean(factory.post("/api/v1/capture"))
    assert not capture_request_is_lean(factory.post("/api/v1/leads", HTTP_AUTHORIZATION="Token abc"))


def test_a_lean_form_post_is_still_rate_limited_by_the_address_a_client_cannot_forge(client, web_form):
    codes = [
        post(
            client, web_form, f"p{i}@example.com", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}"
        ).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]  # a made-up X-Forwarded-For (no trusted proxy) changes nothing
    assert CaptureRecord.objects.filter(reason="rate limited").count() == 1


def test_a_lean_form_post_sets_no_cookie_and_keeps_the_security_headers(client, web_form):
    response = post(client, web_form, "ada@example.com")
    assert response.status_code == 200 and Lead.objects.filter(email="ada@example.com").exists()
    assert not response.cookies  # no session, no CSRF cookie
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still runs


def test_a_tombstoned_email_is_still_refused_on_the_lean_path(client, web_form):
    tombstones.tombstones_remember(digests=[tombstones.email_digest(email="gone@example.com")])
    response = post(client, web_form, "gone@example.com", HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert not Lead.objects.filter(email="gone@example.com").exists()
    assert CaptureRecord.objects.get().reason == tombstones.CAPTURE_REFUSED_REASON


def test_the_request_id_still_reaches_the_answer_and_the_job_on_the_lean_path(client, web_form):
    """The request id (django-guid) runs first in the lean chain: the capture's outbox job carries
    it to the worker's log lines."""
    request_id = uuid.uuid4().hex
    response = post(client, web_form, "ada@example.com", HTTP_CORRELATION_ID=request_id)
    assert response["Correlation-ID"] == request_id
    lead = Lead.objects.get(email="ada@example.com")
    assert OutboxJob.objects.get(args=[lead.pk]).trace_id == request_id


def test_a_session_on_the_capture_api_is_still_checked_for_csrf(manager):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(manager)
    response = browser.post("/api/v1/capture", {"email": "ada@example.com"}, content_type="application/json")
    assert response.status_code == 403 and not Lead.objects.exists()


def test_an_api_capture_of_a_new_person_is_three_statements(manager, django_assert_num_queries):
    """Token and roles in one statement, the lead with its record, entry and job in one, the
    possible-duplicate look-up (the answer names them) in one."""
    api = client_for(manager)
    with django_assert_num_queries(3):
        response = api.post("/api/v1/capture", {"email": "ada@example.com"}, format="json")
    assert response.status_code == 201 and Lead.objects.filter(email="ada@example.com").exists()


def test_an_api_token_of_an_inactive_user_or_an_unknown_token_is_refused(manager):
    api = client_for(manager)
    manager.is_active = False
    manager.save()
    assert api.post("/api/v1/capture", {"email": "a@example.com"}, format="json").status_code == 401
    unknown = Client(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert (
        unknown.post("/api/v1/capture", {"email": "a@example.com"}, content_type="application/json").status_code == 401
    )
    assert not Lead.objects.exists()


def test_a_rep_capturing_a_new_person_through_the_api_takes_the_one_statement_path(rep, django_assert_num_queries):
    api = client_for(rep)
    with django_assert_num_queries(3):
        response = api.post("/api/v1/capture", {"email": "new@example.com"}, format="json")
    assert response.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_the_publishing_thread_keeps_its_connection_while_busy_and_lets_go_when_idle(monkeypatch):
    """It closed its connection after every publish: each lead started a PostgreSQL backend."""
    monkeypatch.setattr(jobs, "PUBLISHER_IDLE_CLOSE_SECONDS", 0.3)
    backends = []

    def touch():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backends.append(cursor.fetchone()[0])

    for _ in range(3):
        jobs._submit(touch)
        jobs.publisher_flush()
    assert len(set(backends)) == 1  # one connection for the three
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        opened = jobs._background_publisher().submit(lambda: connection.connection is not None).result()
        if not opened:
            break
        time.sleep(0.1)
    assert not opened
    assert threading.active_count() < 50


def test_the_one_statement_casts_select_list_values_without_a_length():
    """Its SELECT-list values are cast to their column's type without the length: a cast to
    varchar(500) would cut an over-long value silently, where the INSERT itself refuses it."""
    from leads.capture import new_lead
    from leads.capture.service import CaptureContext, capture

    result = capture(data={"email": "ok@example.com"}, context=CaptureContext(channel=Lead.Source.API, user_agent="UA"))
    assert result.created and result.record.user_agent == "UA"
    statements = list(new_lead._NUMBERED.values())
    assert statements and all("::varchar" in sql and "::varchar(" not in sql for sql in statements)
    assert "%s" not in statements[0] and "$1" in statements[0]


def test_the_one_statement_is_parsed_and_planned_once_per_connection(client, web_form):
    """PostgreSQL prepares the capture's statement on its first use on a connection and runs that
    for every later new person (a third of the database's CPU per capture, bench/README.md); the
    ORM's own queries are never prepared (a generic plan would suit no search)."""

    def prepared() -> list[tuple[str, int]]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
            return [(sql, runs) for sql, runs in cursor.fetchall() if "new_lead AS" in sql]

    web_form.rate_limit = "100/m"
    web_form.save()
    for number in range(3):
        assert post(client, web_form, f"prepared-{number}@example.com").status_code in (200, 302)
    statements = prepared()
    assert len(statements) == 1 and statements[0][1] >= 3
    assert Lead.objects.filter(email__startswith="prepared-").count() == 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 1


def test_the_one_statement_writes_every_column_as_djangos_own_insert_would():
    """Its shortcuts (constant defaults prepared once, strings passed as they are, a country's code
    read without building a Country) give each column the value Django's INSERT would give it."""
    import datetime

    import time_machine
    from django_countries.fields import Country

    from leads.capture import new_lead

    with time_machine.travel(datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.UTC), tick=False):
        for country in ("DE", Country("FR"), ""):
            lead = Lead(email="row@example.com", first_name="Ada", country=country, score=7, attributes={"a": 1})
            columns, values = new_lead._insert_row(lead)
            fields = [f for f in Lead._meta.local_concrete_fields if not f.primary_key and not f.generated]
            expected = [f.get_db_prep_save(f.pre_save(lead, True), connection=connection) for f in fields]
            assert columns == [connection.ops.quote_name(f.column) for f in fields]
            assert [str(v) for v in values] == [str(v) for v in expected]
            assert values[columns.index('"country"')] == (country.code if isinstance(country, Country) else country)


def test_the_api_token_statement_is_prepared_and_reads_the_same_user(manager):
    """The token's statement is planned once per connection; the user it builds is the one DRF's own
    look-up would find, roles included."""
    from rest_framework.authtoken.models import Token

    from leads.api.tokens import OneQueryTokenAuthentication

    token = Token.objects.create(user=manager)
    for _ in range(2):
        user, found = OneQueryTokenAuthentication().authenticate_credentials(token.key)
    assert user == manager and user.username == manager.username and user.password == manager.password
    assert found.key == token.key and found.created == token.created
    assert user._leadcrm_roles == frozenset(manager.groups.values_list("name", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        runs = [count for sql, count in cursor.fetchall() if "authtoken_token" in sql]
    assert runs == [2]
