#!/usr/bin/env bash
# The project's own PostgreSQL for the bundled HAPI FHIR server (FHIR_DB=postgres): Debian's
# `postgresql` package, one cluster in a data directory of ours, listening on 127.0.0.1 only.
#
#   scripts/postgres.sh install   apt-get install postgresql if its binaries are missing
#   scripts/postgres.sh start     install if needed, initdb on first use, start, create role + database
#   scripts/postgres.sh stop      stop the cluster (fast shutdown)
#   scripts/postgres.sh status    exit 0 when running
#   scripts/postgres.sh env       print the FHIR_DB* variables that point the server at it
#
# Environment (defaults in brackets):
#   FHIR_PG_DATA      data directory                      [<project>/data/postgres]
#   FHIR_PG_PORT      TCP port on 127.0.0.1               [5433]
#   FHIR_PG_DATABASE  database name                       [fhir]
#   FHIR_DB_USER      role the HAPI server logs in as     [fhir]
#   FHIR_DB_PASSWORD  its password                        [fhir]
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user
# (created by the package).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
data="${FHIR_PG_DATA:-$root/data/postgres}"
port="${FHIR_PG_PORT:-5433}"
database="${FHIR_PG_DATABASE:-fhir}"
user="${FHIR_DB_USER:-fhir}"
password="${FHIR_DB_PASSWORD:-fhir}"

bindir() {
  local dir
  # the newest installed major version
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

install() {
  if [ -z "$(bindir)" ]; then
    echo "postgres: installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
  fi
  [ -n "$(bindir)" ] || { echo "postgres: no initdb under /usr/lib/postgresql after install" >&2; exit 1; }
}

# runs a PostgreSQL binary as the cluster's owner
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

psql_admin() {
  # over the cluster's own socket directory, as the superuser `postgres` (peer auth)
  as_owner "$(bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$data" -p "$port" -U postgres -d postgres "$@"
}

running() {
  [ -f "$data/PG_VERSION" ] && as_owner "$(bindir)/pg_ctl" -D "$data" status >/dev/null 2>&1
}

start() {
  install
  local bin
  bin="$(bindir)"
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$data"
    chmod 700 "$data"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! running; then
    # sockets in the data directory: no clash with a system cluster's /var/run/postgresql
    as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$data'" start >/dev/null
  fi
  # the role and database, idempotently
  psql_admin -v user="$user" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'user') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user')\gexec
ALTER ROLE :"user" PASSWORD :'password';
SQL
  psql_admin -v user="$user" -v database="$database" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'user') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database')\gexec
SQL
  echo "postgres: running on 127.0.0.1:$port (data in $data), database $database, role $user" >&2
}

stop() {
  if running; then as_owner "$(bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null; fi
}

print_env() {
  echo "FHIR_DB=postgres"
  echo "FHIR_DB_URL=jdbc:postgresql://127.0.0.1:$port/$database"
  echo "FHIR_DB_USER=$user"
  echo "FHIR_DB_PASSWORD=$password"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) running ;;
  env) print_env ;;
  *)
    echo "usage: $0 install|start|stop|status|env" >&2
    exit 2
    ;;
esac
