"""Environment for the benchmark: a dedicated database and production-like settings.

Import this module and call `setup()` before anything touches Django. It fills in
the same variables as the Makefile's `test` target (DEBUG off, no HTTPS redirect,
plain static storage), points DATABASE_URL at a dedicated bench database, creates
that database on PostgreSQL when it is missing, then runs `django.setup()`.
"""

import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadcrm_bench"

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "leadcrm.settings",
    "DATABASE_URL": DEFAULT_DATABASE_URL,
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
    "ALLOWED_HOSTS": "*",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
    "STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
    "LOG_LEVEL": "WARNING",
    # Keep the file cache and the filesystem broker's folders out of the work tree.
    "LEADCRM_VAR_DIR": str(Path(tempfile.gettempdir()) / "leadcrm-bench-var"),
}

_done = False


def ensure_postgres_database(url: str) -> bool:
    """Create the database named in a postgres:// URL if it does not exist; True if created."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql", "psql"):
        return False
    name = unquote(parts.path.lstrip("/"))
    conninfo = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "dbname": "postgres",
    }
    if parts.password:
        conninfo["password"] = unquote(parts.password)
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def setup(*, migrate: bool = True, verbose: bool = True) -> None:
    """Set the bench environment, create the database if needed, django.setup(), migrate."""
    global _done
    if _done:
        return
    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    if ensure_postgres_database(os.environ["DATABASE_URL"]) and verbose:
        print(f"created database {urlsplit(os.environ['DATABASE_URL']).path.lstrip('/')}", flush=True)

    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    _done = True


def freeze_like_wsgi() -> None:
    """`gc.freeze()`, as leadcrm/wsgi.py does once the app is loaded: what is alive by now is never
    scanned by a full collection again. Without it an in-process bench pays for a full collection
    of the whole loaded process every few large requests (140 ms in one 500-lead API page in seven
    at a million leads, against ~10 ms in a frozen process), which a gunicorn worker does not; that
    pause, not the code, was much of the p95 of the larger lists (bench/README.md, 2026-12-07)."""
    import gc

    gc.collect()
    gc.freeze()


def readme_block_replace(*, name: str, text: str) -> bool:
    """Replace the figures between `<!-- {name}:start -->` and `<!-- {name}:end -->` in bench/README.md
    (re-read first: others edit the file too); False when the markers are missing."""
    readme = ROOT / "bench" / "README.md"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    content = readme.read_text()
    if start not in content or end not in content:
        print(f"{readme} has no {start} … {end} markers: not updated", file=sys.stderr)
        return False
    before, rest = content.split(start, 1)
    _, after = rest.split(end, 1)
    readme.write_text(f"{before}{start}\n{text}\n{end}{after}")
    return True


def speed_reference() -> float:
    """Seconds this machine takes for a fixed Python loop of 10 million additions, measured now.

    The shared benchmark machines' speed moves by up to ~1.8x within minutes, and the load average
    does not show it (bench/README.md). The runs print this beside their figures: 0.66 s was the
    fastest stretch seen, 1.65 s the slowest; only runs with similar readings compare."""
    import time

    # At module level, as the README's runs timed it by hand (a function's local variables run
    # about twice as fast, so the figures would not compare).
    loop = compile("x = 0\nfor i in range(10_000_000):\n    x += i\n", "<speed reference>", "exec")
    started = time.perf_counter()
    exec(loop, {})
    return round(time.perf_counter() - started, 2)
