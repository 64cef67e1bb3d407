"""Schemathesis over the live OpenAPI schema, in process (the WSGI app): every operation, with a
manager's and a rep's token, data that fits the schema and data that does not; fails on any 5xx
or any answer the schema does not describe.

Examples per operation and mode: FUZZ_EXAMPLES (default 10: about two minutes for the whole schema
on this machine; the outside run that found issue 15's bugs drew about 500 per operation).
(schemathesis' own pytest loader needs pytest < 9, so the operations are driven here directly.)"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import client_for
from tests.factories import LeadFactory, ManagerFactory, RepFactory, TeamFactory, TeamMembershipFactory

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
# Raw email (POST /api/v1/capture/email) goes as the bytes generated for its binary body.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(db):
    """The schema as the app serves it; requests go to the WSGI app inside the test's transaction
    (as Django's test client does, the connection is not closed at the end of each request)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from leadcrm.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(
            "/api/v1/schema", application, headers={"Accept": "application/vnd.oai.openapi+json"}
        )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(db):
    """A manager's and a rep's token, over a few leads (one the rep owns, one they cannot see)."""
    team = TeamFactory(name="Fuzz team")
    manager, rep = (
        ManagerFactory(username="fuzz-manager", password=None),
        RepFactory(username="fuzz-rep", password=None),
    )
    TeamMembershipFactory(team=team, user=rep)
    LeadFactory(owner=rep, team=team)
    LeadFactory()
    return [client_for(user)._credentials["HTTP_AUTHORIZATION"] for user in (manager, rep)]


def _operations(api_schema):
    return [result.ok() for result in api_schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_within_its_schema_and_never_5xx(api_schema, tokens, mode):
    """Broke (issue 15): 5xx on surrogates, deep JSON, 1e400, NUL keys and odd date offsets, and answers
    with nulls and "" the schema did not allow."""
    failures = []
    for operation in _operations(api_schema):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            for authorization in tokens:
                case.call_and_validate(headers={"Authorization": authorization}, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            continue  # nothing "negative" to make of this operation (a raw binary body takes any bytes)
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
