"""Configuration a deployment relies on: safe defaults, Argon2, and `make run` on a fresh machine."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password

ROOT = Path(__file__).resolve().parent.parent
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


def production_env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in RELAXED}
    env.update(extra)
    return env


def manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_the_default_security_settings():
    env = production_env(SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="crm.example.com")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_debug_a_secret_key_is_required():
    result = manage("check", env=production_env(ALLOWED_HOSTS="crm.example.com"))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_security_defaults_are_the_safe_ones():
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0)"
    )
    env = production_env(SECRET_KEY=secrets.token_urlsafe(50), DJANGO_SETTINGS_MODULE="leadcrm.settings")
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["False", "True", "True", "True", "True"], result.stderr


def test_passwords_are_hashed_with_argon2():
    assert make_password("correct horse battery staple").startswith("argon2$")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_make_run_serves_the_login_page_on_the_embedded_defaults(tmp_path):
    """`make run` with no DATABASE_URL and no REDIS_URL: SQLite and the filesystem broker."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in (*RELAXED, "DATABASE_URL", "REDIS_URL")}
    env["LEADCRM_VAR_DIR"] = str(tmp_path / "var")
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2) as response:
                    status, body = response.status, response.read()
                    break
            except OSError:
                time.sleep(0.5)
        assert status == 200, f"make run did not serve the login page; it exited with {process.poll()}"
        assert b"Log in to LeadCRM" in body
        assert (tmp_path / "var" / "db.sqlite3").exists()
        # The background worker runs on the filesystem broker; no server was needed.
        assert (tmp_path / "var" / "celery" / "queue").is_dir()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
    assert "Demo logins" in output


def _devrun():
    import importlib.util

    spec = importlib.util.spec_from_file_location("devrun", ROOT / "bin" / "devrun.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_run_on_another_port_writes_that_port_into_unsubscribe_and_tracking_links():
    """`make run PORT=8123` wrote http://127.0.0.1:8000 into unsubscribe and tracking links:
    PUBLIC_BASE_URL did not follow the port."""
    environ = {k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"}
    env = _devrun().run_env(port=8123, environ=environ)
    code = (
        "import django; django.setup()\n"
        "from leads.nurturing.tokens import unsubscribe_url\n"
        "print(unsubscribe_url(enrollment_id=1, step_id=2))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "leadcrm.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("http://127.0.0.1:8123/"), result.stdout


def test_an_explicit_public_base_url_wins_over_the_port():
    env = _devrun().run_env(port=8123, environ={"PUBLIC_BASE_URL": "https://crm.example.com"})
    assert env["PUBLIC_BASE_URL"] == "https://crm.example.com"
