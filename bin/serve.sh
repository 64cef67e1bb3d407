#!/usr/bin/env bash
# The production processes, one command each: compose.yaml runs these, docs/deployment.md
# describes them, and tests/operations/test_deployment_stack.py starts them on this machine.
#
#   bin/serve.sh release   migrations and static files, once per release, before the new web processes
#   bin/serve.sh web       gunicorn, sync workers (WEB_CONCURRENCY, default 2 per core), on PORT (8000)
#   bin/serve.sh worker    a Celery worker (WORKER_CONCURRENCY processes, default one per core)
#   bin/serve.sh beat      Celery beat: EXACTLY ONE in the whole deployment
#
# Everything else comes from the environment (DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS…).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
[ -x .venv/bin/python ] && [ "$PYTHON" = python ] && PYTHON=.venv/bin/python
cores="$(nproc 2>/dev/null || echo 2)"

case "${1:-}" in
  release)
    "$PYTHON" manage.py migrate --noinput
    "$PYTHON" manage.py collectstatic --noinput --verbosity 0
    ;;
  web)
    # Sync workers: threaded ones (WEB_WORKER_CLASS=gthread, WEB_THREADS) kept connections alive
    # but did no better on two cores, with a longer tail (bench/README.md, capture).
    # A worker is replaced after WEB_MAX_REQUESTS requests (a guard against slow growth). A new one
    # costs ~1.7 s of CPU (imports, first request): every 10,000 requests that was ~4 % of a
    # capture's CPU at full rate; the RSS grows ~85 bytes per request (bench/README.md).
    # WEB_APP swaps the WSGI application (bench/capture_bench.py --ceiling serves its one-INSERT view).
    exec "$PYTHON" -m gunicorn "${WEB_APP:-leadcrm.wsgi}" \
      --bind "${WEB_BIND:-0.0.0.0}:${PORT:-8000}" --workers "${WEB_CONCURRENCY:-$((2 * cores))}" \
      --worker-class "${WEB_WORKER_CLASS:-sync}" --threads "${WEB_THREADS:-1}" \
      --max-requests "${WEB_MAX_REQUESTS:-100000}" --max-requests-jitter "$(( ${WEB_MAX_REQUESTS:-100000} / 20 ))" \
      --timeout "${WEB_TIMEOUT:-30}" --graceful-timeout 20 --access-logfile - --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}"
    ;;
  worker)
    exec "$PYTHON" -m celery -A leadcrm worker -l "${LOG_LEVEL:-INFO}" -c "${WORKER_CONCURRENCY:-$cores}" \
      --without-mingle --without-gossip
    ;;
  beat)
    exec "$PYTHON" -m celery -A leadcrm beat -l "${LOG_LEVEL:-INFO}" \
      --scheduler django_celery_beat.schedulers:DatabaseScheduler --pidfile=
    ;;
  *)
    echo "usage: bin/serve.sh release|web|worker|beat" >&2
    exit 2
    ;;
esac
