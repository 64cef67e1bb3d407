"""The deployment the docs describe is the one that runs: compose.yaml's services run bin/serve.sh,
and the same commands, started here with a production configuration (no DEBUG, HTTPS redirects on)
against the test database and a private Redis, come up healthy. Docker's compose plugin is not on
this machine; when it is, `docker compose config` checks the file as Docker reads it."""

import http.client
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db import connection

from tests.leads.broker import free_port, private_redis  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = {"release", "web", "worker", "beat"}
RELAXED = (
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "STATICFILES_STORAGE",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SECRET_KEY",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_starts_postgres_redis_and_each_process_through_bin_serve():
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", *APP_SERVICES}
    for name in APP_SERVICES:
        assert services[name]["command"] == ["bin/serve.sh", name]
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert services["beat"]["deploy"]["replicas"] == 1  # two beats would send every schedule twice
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["release"]["condition"] == "service_completed_successfully"
    script = (ROOT / "bin/serve.sh").read_text()
    assert all(f"  {name})" in script for name in APP_SERVICES)
    # Where Docker's compose plugin is installed (not on the CI machine), Docker reads the file too.
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        result = subprocess.run(
            ["docker", "compose", "config", "-q"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "SECRET_KEY": "x" * 50},
        )
        assert result.returncode == 0, result.stderr


def _production_env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in RELAXED}
    db = connection.settings_dict
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="crm.example.com",
        LOG_LEVEL="WARNING",
        WEB_CONCURRENCY="1",
        WORKER_CONCURRENCY="1",
        OUTBOX_SWEEP_SECONDS="1",
    )
    env.update(extra)
    return env


def _post_captures(port: int, body_for, count: int) -> list[int]:
    """`count` form posts from one client (http.client opens a new connection when told to close)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    answers = []
    try:
        for n in range(count):
            conn.request(
                "POST",
                "/f/stack",
                body=body_for(n),
                headers={
                    "Host": "crm.example.com",
                    "X-Forwarded-Proto": "https",
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                },
            )
            response = conn.getresponse()
            response.read()
            answers.append(response.status)
    finally:
        conn.close()
    return answers


def _every_concurrent_capture_lands_once(port: int) -> None:
    """The web command takes captures from many clients at once: each one answered and made into
    exactly one lead."""
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlencode

    from leads.capture.webforms import form_timestamp
    from leads.models import Lead, WebForm

    web_form = WebForm.objects.create(
        name="Stack",
        key="stack",
        fields=["email", "first_name"],
        required_fields=["email"],
        min_fill_seconds=0,
        rate_limit="100000/m",
    )
    stamp = form_timestamp(web_form)

    def client(c: int) -> list[int]:
        return _post_captures(
            port, lambda n: urlencode({"email": f"stack-{c}-{n}@example.com", "first_name": "Ada", "_ts": stamp}), 10
        )

    with ThreadPoolExecutor(12) as pool:
        answers = [answer for answers in pool.map(client, range(12)) for answer in answers]
    assert answers == [201] * 120
    assert Lead.objects.filter(email__startswith="stack-").count() == 120
    assert Lead.objects.filter(email="stack-11-9@example.com", first_name="Ada").exists()


def _health(port: int) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/health/?format=json", headers={"Host": "crm.example.com"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError as exc:
        return 0, str(exc).encode()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_release_web_worker_and_beat_come_up_healthy_with_a_production_configuration(private_redis, tmp_path):  # noqa: F811
    port = free_port()
    env = _production_env(
        REDIS_URL=private_redis.url,
        PORT=str(port),
        LEADCRM_VAR_DIR=str(tmp_path / "var"),
        SECRET_KEY=settings.SECRET_KEY,  # the form's render stamp is signed here and checked there
    )
    release = subprocess.run(
        ["bin/serve.sh", "release"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert release.returncode == 0, release.stdout + release.stderr
    assert (tmp_path / "var/staticfiles").is_dir()

    processes = [
        subprocess.Popen(
            ["bin/serve.sh", name],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("web", "worker", "beat")
    ]
    try:
        deadline = time.monotonic() + 120
        status, body = _health(port)
        while status != 200 and time.monotonic() < deadline:
            time.sleep(1)
            status, body = _health(port)
        assert status == 200, body
        assert b'"Worker": "OK"' in body and b'"BeatHeartbeat": "OK"' in body
        _every_concurrent_capture_lands_once(port)
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
