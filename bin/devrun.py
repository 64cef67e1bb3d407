#!/usr/bin/env python
"""`make run`: migrate, seed the demo data, then start web, Celery worker and beat.

With no DATABASE_URL and no REDIS_URL it runs on the embedded defaults: SQLite
under var/ and kombu's filesystem broker, so no server is needed. Ctrl-C stops all.
"""

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAIN_HTTP = {
    # A local run is plain HTTP; production keeps the safe defaults.
    "DEBUG": "true",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
}


def run_env(*, port: int, environ) -> dict[str, str]:
    """The environment of the local run: plain HTTP, and links (unsubscribe, tracking, form
    snippets) that point at the port actually served unless PUBLIC_BASE_URL is set."""
    env = {**environ}
    for key, value in PLAIN_HTTP.items():
        env.setdefault(key, value)
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    # The demo leads go through the real pipeline, whose website provider would fetch the made-up
    # companies' domains (some exist). Set it to true to try the provider on leads of your own.
    env.setdefault("ENRICHMENT_WEBSITE_ENABLED", "false")
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--leads", type=int, default=200, help="demo leads to seed")
    args = parser.parse_args()

    env = run_env(port=args.port, environ=os.environ)
    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]

    def run(cmd: list[str]) -> None:
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)

    run([*manage, "migrate", "--noinput", "-v", "0"])
    run([*manage, "seed_demo", "--leads", str(args.leads)])

    celery = [python, "-m", "celery", "-A", "leadcrm"]
    children = [
        subprocess.Popen([*celery, "worker", "-l", "INFO", "--concurrency", "2"], cwd=ROOT, env=env),
        subprocess.Popen([*celery, "beat", "-l", "INFO"], cwd=ROOT, env=env),
        subprocess.Popen([*manage, "runserver", f"127.0.0.1:{args.port}", "--noreload"], cwd=ROOT, env=env),
    ]
    print(
        f"\nLeadCRM is starting on http://127.0.0.1:{args.port}/\n"
        "Demo logins (password: demo): manager (admin), marketer, rep1, rep2, rep3\n"
        "Stop with Ctrl-C.\n",
        flush=True,
    )

    def stop(*_):
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        # If any part dies, stop the rest rather than run half an app.
        while all(child.poll() is None for child in children):
            try:
                children[-1].wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
