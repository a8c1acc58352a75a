#!/usr/bin/env bash
# A local PostgreSQL 15 for trying several sealab gateways on one machine (README "Running several gateways").
#   bash scripts/postgres-dev.sh start   initdb (once) and start a cluster in data/postgres on 127.0.0.1:${SEALAB_PG_PORT:-5433};
#                                         prints the SEALAB_DATABASE_URL to use (database `sealab`, created once)
#   bash scripts/postgres-dev.sh stop    stop it (the data stays in data/postgres; delete the directory to start over)
#   bash scripts/postgres-dev.sh url     print the URL again
# Trust authentication on loopback only: a development cluster, not a production one. Needs Debian's postgresql-15
# (`bash scripts/provision.sh` installs it); as root, the server runs as the package's `postgres` user.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_BIN="${SEALAB_PG_BIN:-/usr/lib/postgresql/15/bin}"
PORT="${SEALAB_PG_PORT:-5433}"
DIR="$PWD/data/postgres"
URL="postgres://sealab@127.0.0.1:$PORT/sealab"

as_server() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    [ -x "$PG_BIN/initdb" ] || { echo "postgres-dev: $PG_BIN/initdb not found: run \`bash scripts/provision.sh\` first" >&2; exit 1; }
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
      as_server "$PG_BIN/initdb" -D "$DIR/data" -U sealab --auth=trust -E UTF8 --locale=C >/dev/null
    fi
    if ! as_server "$PG_BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
      as_server "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR" start >/dev/null
    fi
    as_server "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U sealab -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'sealab'" | grep -q 1 ||
      as_server "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U sealab -d postgres -qc 'CREATE DATABASE sealab' >/dev/null
    echo "$URL"
    ;;
  stop) as_server "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w stop ;;
  url) echo "$URL" ;;
  *)
    echo "usage: bash scripts/postgres-dev.sh start|stop|url" >&2
    exit 2
    ;;
esac
