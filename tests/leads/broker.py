"""A private Redis broker for the outbox tests: our own redis-server on a free port that a test
may stop (an outage; without persistence a restart drops every queued message) and start again.
The machine's Redis on 6379 is shared with other sessions and is never touched."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from leadcrm.celery import app

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        """Kill it: whatever was queued is gone (no persistence)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def point_app_at(url: str) -> None:
    """Make this process publish to `url` (the pooled connections to the old broker are dropped)."""
    app.conf.broker_url = url
    app._after_fork()  # Celery's own way to forget its pools (kombu keeps them per URL, open)


@pytest.fixture
def private_redis(tmp_path):
    """A private redis-server, and this process's Celery app publishing to it."""
    redis = PrivateRedis(tmp_path)
    redis.start()
    previous = app.conf.broker_url
    point_app_at(redis.url)
    yield redis
    point_app_at(previous)
    redis.stop()


def worker_process(
    broker_url: str,
    *,
    beat: bool,
    sweep_seconds: float = 2.0,
    email_port: int | None = None,
    log_level: str = "WARNING",
    stderr=subprocess.PIPE,
) -> subprocess.Popen:
    """A real `celery worker` (2 processes, optionally with beat) on the test database and `broker_url`."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": broker_url,
        "OUTBOX_SWEEP_SECONDS": str(sweep_seconds),
        "LOG_LEVEL": log_level,
    }
    if email_port:
        env["EMAIL_URL"] = f"smtp://127.0.0.1:{email_port}"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "leadcrm",
        "worker",
        "-c",
        "2",
        "-l",
        log_level.lower(),
        "--without-mingle",
        "--without-gossip",
    ]
    if beat:
        command.append("-B")  # beat with django-celery-beat's DatabaseScheduler, as in production
    return subprocess.Popen(
        command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=stderr
    )


def kill_worker(process: subprocess.Popen) -> None:
    """SIGKILL the worker and its pool processes at once: no warm shutdown, nothing acknowledged."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)
