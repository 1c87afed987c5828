#!/usr/bin/env bash
# Bring up the services that the tests and the real-services mode use, on a bare Debian machine:
#
#   postgres  PostgreSQL from Debian's packages, a cluster listening on 127.0.0.1:5432 where the
#             role `postgres` connects from loopback without a password (a development and test
#             cluster: production uses its own, with the roles and passwords of
#             deploy/postgres/init-roles.sql), and a database `yaritori`;
#   redis     Redis on 127.0.0.1:6379 with no persistence (nothing written to disk);
#   chromium  Debian's chromium for the browser tests (Playwright's own download does not work),
#             with a Japanese font (fonts-noto-cjk) for the pages it renders.
#
# With no argument it brings up postgres and redis (`make services`). Each one that already
# answers is left alone. One line of output per service says what was done; a failure prints one
# line that says what is wrong and exits non-zero.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
PG_DATABASE=yaritori
REDIS_PORT=6379
# A trust line for the superuser on loopback only; marked, so that a second run finds it.
HBA_MARK="# yaritori: make services (development and test cluster)"
HBA_LINE="host    all             postgres        127.0.0.1/32            trust"

say() { printf 'services: %s\n' "$*"; }
die() {
  printf 'services: error: %s\n' "$*" >&2
  exit 1
}

# Runs as root, or through sudo when there is one.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "installing and starting system services needs root (or sudo): $*"
  fi
}

apt_updated=""
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* with your system's package manager"
  if [ -z "$apt_updated" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
      || die "apt-get update failed (no network or no Debian archive?)"
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >/dev/null || die "apt-get install $* failed"
}

# --- PostgreSQL -----------------------------------------------------------------------------

pg_answers() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }
pg_sql() { psql "postgresql://postgres@$PG_HOST:$PG_PORT/postgres" -XAtq -v ON_ERROR_STOP=1 "$@"; }

pg_ensure_database() {
  if [ "$(pg_sql -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != "1" ]; then
    pg_sql -c "CREATE DATABASE $PG_DATABASE" || die "could not create database $PG_DATABASE"
    echo ", database $PG_DATABASE created"
  fi
}

postgres_up() {
  local did="" db_note
  if pg_answers; then
    pg_sql -c "SELECT 1" >/dev/null 2>&1 \
      || die "a PostgreSQL on $PG_HOST:$PG_PORT refuses role postgres without a password; stop it, or set DATABASE_URL to a role that can log in"
    db_note=$(pg_ensure_database)
    say "PostgreSQL already running on $PG_HOST:$PG_PORT$db_note"
    return
  fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt_install postgresql
    did="installed from Debian's packages, "
  fi
  local version
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  [ -n "$version" ] || die "no PostgreSQL server under /usr/lib/postgresql after installing"
  if ! pg_lsclusters -h "$version" main >/dev/null 2>&1 || [ -z "$(pg_lsclusters -h "$version" main)" ]; then
    as_root pg_createcluster --port "$PG_PORT" "$version" main >/dev/null \
      || die "pg_createcluster $version main failed"
    did+="cluster $version/main created, "
  fi
  local conf="/etc/postgresql/$version/main"
  local port
  port=$(pg_lsclusters -h "$version" main | awk '{print $3}')
  if [ "$port" != "$PG_PORT" ]; then
    as_root pg_conftool "$version" main set port "$PG_PORT"
    did+="port set to $PG_PORT, "
  fi
  if ! grep -qF "$HBA_MARK" "$conf/pg_hba.conf"; then
    # Before the packaged rules: the first matching line wins, and those ask for a password.
    as_root sed -i "1i $HBA_MARK\n$HBA_LINE" "$conf/pg_hba.conf"
    did+="trust for postgres from 127.0.0.1, "
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start \
    || die "pg_ctlcluster $version main start failed; see /var/log/postgresql/postgresql-$version-main.log"
  local _
  for _ in $(seq 1 60); do
    pg_answers && break
    sleep 0.5
  done
  pg_answers || die "PostgreSQL $version/main started but does not answer on $PG_HOST:$PG_PORT within 30 s"
  pg_sql -c "SELECT 1" >/dev/null || die "PostgreSQL answers but refuses role postgres from $PG_HOST"
  db_note=$(pg_ensure_database)
  say "PostgreSQL $version/main: ${did}started on $PG_HOST:$PG_PORT$db_note"
}

# --- Redis ----------------------------------------------------------------------------------

# PING over bash's own /dev/tcp, so that the check needs no redis-cli.
redis_answers() {
  local reply=""
  { exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  read -r -t 2 reply <&3 || true
  exec 3<&- 3>&-
  [ "${reply%$'\r'}" = "+PONG" ]
}

redis_up() {
  local did=""
  if redis_answers; then
    say "Redis already running on 127.0.0.1:$REDIS_PORT"
    return
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    apt_install redis-server
    did="installed from Debian's packages, "
    # A package that starts its own service (where policy-rc.d allows it) may already answer.
    if redis_answers; then
      say "Redis: ${did}started by the package on 127.0.0.1:$REDIS_PORT"
      return
    fi
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /tmp --logfile "" >/dev/null || die "redis-server did not start"
  local _
  for _ in $(seq 1 60); do
    redis_answers && break
    sleep 0.5
  done
  redis_answers || die "redis-server started but does not answer on 127.0.0.1:$REDIS_PORT within 30 s"
  say "Redis: ${did}started on 127.0.0.1:$REDIS_PORT without persistence"
}

# --- Chromium -------------------------------------------------------------------------------

# The staff pages are Japanese: without a CJK font chromium draws empty boxes, and the browser
# tests' accessibility checks (axe-core) measure the contrast of glyphs that are not there.
cjk_font_present() {
  { command -v fc-list >/dev/null 2>&1 && fc-list :lang=ja 2>/dev/null | grep -q .; } \
    || dpkg -s fonts-noto-cjk >/dev/null 2>&1
}

chromium_up() {
  local fonts=""
  if ! cjk_font_present; then
    apt_install fonts-noto-cjk
    fonts=", fonts-noto-cjk installed"
  fi
  if command -v chromium >/dev/null 2>&1; then
    say "chromium already installed ($(chromium --version 2>/dev/null | head -n 1))$fonts"
    return
  fi
  apt_install chromium
  command -v chromium >/dev/null 2>&1 || die "chromium is not on PATH after installing it"
  say "chromium: installed from Debian's packages ($(chromium --version 2>/dev/null | head -n 1))$fonts"
}

[ "$#" -gt 0 ] || set -- postgres redis
for service in "$@"; do
  case "$service" in
    postgres) postgres_up ;;
    redis) redis_up ;;
    chromium) chromium_up ;;
    *) die "unknown service '$service' (postgres, redis, chromium)" ;;
  esac
done
