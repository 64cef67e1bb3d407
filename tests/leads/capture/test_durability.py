"""No lead is lost when the broker is down: capture answers 2xx at once without reaching for it,
and the workers' outbox relay sends the lead's job (real gunicorn, real Redis, real worker)."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from leads.models import CaptureRecord, Lead
from tests.factories import TokenFactory
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_broker():
    """A 'broker' that accepts TCP connections and never says a word: the worst kind of down."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


@pytest.fixture
def web_without_broker(transactional_db, silent_broker):
    """gunicorn serving this test database, with a broker that does not answer."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": silent_broker,
        "ALLOWED_HOSTS": "*",
    }
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "leadcrm.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1", "--timeout", "30"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/accounts/login/", timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.django_db(transaction=True)
def test_capture_answers_while_its_broker_is_down_and_the_workers_relay_sends_the_job(
    web_without_broker, manager, celery_worker_live
):
    token = TokenFactory(user=manager)
    started = time.monotonic()
    request = urllib.request.Request(
        f"{web_without_broker}/api/v1/capture",
        data=json.dumps({"email": "outage@example.com"}).encode(),
        headers={"Authorization": f"Token {token.key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        status, body = response.status, json.loads(response.read())
    elapsed = time.monotonic() - started
    assert status == 201, body
    assert elapsed < 1.0, f"the request waited {elapsed:.2f}s on a dead broker"
    lead = Lead.objects.get(pk=body["lead"])
    assert CaptureRecord.objects.filter(lead=lead, result="created").exists()
    # The web process never reaches for the broker (its own is dead): the workers' outbox relay,
    # on a broker that answers, publishes the lead's job.
    assert wait_for(lambda: Lead.objects.get(pk=lead.pk).processed_at is not None, timeout=15)
