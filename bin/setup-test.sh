#!/usr/bin/env bash
# Everything the test suite needs from the machine, in one place: `make test` and `.ci/run` both
# call this. It installs or starts what is missing and is a quick no-op when all is there.
#
#   Debian packages: chromium (browser tests), dovecot-imapd (IMAP tests start their own Dovecot),
#                    openssl (TLS tests), postgresql and redis-server (when nothing answers locally)
#   services:        PostgreSQL and Redis at DATABASE_URL / REDIS_URL (default 127.0.0.1:5432 / :6379)
#
# It installs only as root (or with password-less sudo) on a system with apt-get. Otherwise it
# prints exactly what to install or start and exits 1: the suite never skips what it cannot run.
set -euo pipefail

DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/leadcrm}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"

say() { echo "setup-test: $*"; }
die() { echo "setup-test: $*" >&2; exit 1; }

# host and port of a URL like scheme://user:pass@host:port/path
url_host() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; echo "${rest%%:*}"; }
url_port() {
  local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"
  if [[ "$rest" == *:* ]]; then echo "${rest##*:}"; else echo "$2"; fi
}
PG_HOST="$(url_host "$DATABASE_URL")"; PG_PORT="$(url_port "$DATABASE_URL" 5432)"
REDIS_HOST="$(url_host "$REDIS_URL")"; REDIS_PORT="$(url_port "$REDIS_URL" 6379)"
is_local() { [[ "$1" == "127.0.0.1" || "$1" == "localhost" || "$1" == "::1" ]]; }

case "$DATABASE_URL" in
  postgres://*|postgresql://*|pgsql://*) ;;
  *) die "DATABASE_URL must point at PostgreSQL for the tests (got ${DATABASE_URL%%://*}://…)" ;;
esac

# Answering? Bash's /dev/tcp, so no client package is needed to find out.
tcp_up() { timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }
redis_up() {
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "PING\r\n" >&3 && head -c 5 <&3 | grep -q PONG' \
    "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null
}
wait_for() { for _ in $(seq 1 30); do "$@" && return 0; sleep 1; done; return 1; }

# --- what is missing ---------------------------------------------------------------------------
packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
{ command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; } || packages+=(dovecot-imapd)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
pg_ctl_installed() { command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; }
pg_fresh=no
if is_local "$PG_HOST" && ! tcp_up "$PG_HOST" "$PG_PORT" && ! pg_ctl_installed; then
  packages+=(postgresql); pg_fresh=yes
fi
if is_local "$REDIS_HOST" && ! redis_up && ! command -v redis-server >/dev/null 2>&1; then
  packages+=(redis-server)
fi

# --- install ---------------------------------------------------------------------------------
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root=(sudo -n); else as_root=(none); fi
fi
if [ ${#packages[@]} -gt 0 ]; then
  if [ "${as_root[*]:-}" = none ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-test: the test suite needs these Debian packages, and this script cannot install them" >&2
    echo "setup-test: (it needs root or password-less sudo, and apt-get). Install them, then run it again:" >&2
    echo "" >&2
    echo "    sudo apt-get install -y ${packages[*]}" >&2
    echo "" >&2
    exit 1
  fi
  say "installing ${packages[*]} from Debian"
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  if [[ " ${packages[*]} " == *" dovecot-imapd "* ]]; then
    # The tests start their own Dovecot on a free port; the system one is not needed on 143/993.
    "${as_root[@]}" sh -c 'systemctl disable --now dovecot 2>/dev/null || service dovecot stop 2>/dev/null || doveadm stop 2>/dev/null || true'
  fi
  if [ "$pg_fresh" = yes ]; then
    # A fresh Debian cluster asks a password on TCP; the tests connect as postgres without one
    # (a test machine: say so in README). Trust only the loopback address, only for postgres.
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
      "${as_root[@]}" sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
    done
  fi
fi

# --- start -----------------------------------------------------------------------------------
if ! tcp_up "$PG_HOST" "$PG_PORT"; then
  is_local "$PG_HOST" || die "PostgreSQL at $PG_HOST:$PG_PORT is not answering (DATABASE_URL); start it"
  [ "${as_root[*]:-}" != none ] || die "PostgreSQL is not answering on $PG_PORT; start it (sudo pg_ctlcluster <version> main start)"
  say "PostgreSQL is not answering; starting it"
  for version in $(ls /etc/postgresql); do
    "${as_root[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  wait_for tcp_up "$PG_HOST" "$PG_PORT" || die "PostgreSQL did not start on $PG_HOST:$PG_PORT"
fi

if ! redis_up; then
  is_local "$REDIS_HOST" || die "Redis at $REDIS_HOST:$REDIS_PORT is not answering (REDIS_URL); start it"
  say "Redis is not answering; starting it"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null
  wait_for redis_up || die "Redis did not start on $REDIS_HOST:$REDIS_PORT"
fi

for tool in chromium dovecot doveadm openssl; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || die "$tool is still missing"
done
exit 0
