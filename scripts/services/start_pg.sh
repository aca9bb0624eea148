#!/usr/bin/env bash
# Throwaway PostgreSQL cluster (Debian postgresql-15) for the tests.
#   listens on 127.0.0.1:$DETOPT_PG_PORT (15432) + Unix socket dir $DETOPT_STATE_DIR/pg/sock, trust auth
#   data + log under $DETOPT_STATE_DIR/pg (recreated on every start), database $DETOPT_PG_DB (detopt_test)
#   writes $DETOPT_STATE_DIR/pg.env with DETOPT_TEST_PG_URL
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PGBASE=$DETOPT_STATE_DIR/pg
PORT=$DETOPT_PG_PORT
DB=${DETOPT_PG_DB:-detopt_test}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$BIN" ] && [ -x "$BIN/postgres" ] || die "no PostgreSQL server in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
id postgres > /dev/null 2>&1 || die "user 'postgres' does not exist (apt-get install postgresql)"
asuser() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

t0=$(now_s)
check_state_dir
# clean stale state: a previous run's postmaster (by recorded pid) and its data directory
stop_pg
rm -f "$DETOPT_STATE_DIR/pg.env"
rm -rf "$PGBASE"
require_ports_free "$PORT"

ok=0
trap '[ $ok = 1 ] || { log "PostgreSQL did not start; stopping what was started"; stop_pg; }' EXIT

mkdir -p "$PGBASE/sock"
chown postgres:postgres "$PGBASE" "$PGBASE/sock"
if ! asuser "$BIN/initdb" -D "$PGBASE/data" -A trust -U postgres -E UTF8 --no-sync > "$PGBASE/initdb.log" 2>&1; then
  dump_logs "$PGBASE/initdb.log"; die "initdb failed"
fi
svc_start postgres "$BIN/postgres" "$PGBASE/postgres.log" \
  setpriv --reuid=postgres --regid=postgres --init-groups -- \
  "$BIN/postgres" -D "$PGBASE/data" -p "$PORT" \
  -c listen_addresses=127.0.0.1 -c unix_socket_directories="$PGBASE/sock" \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200
wait_for "PostgreSQL accepting connections on 127.0.0.1:$PORT" "$DETOPT_SERVICE_TIMEOUT" postgres \
  "$PGBASE/postgres.log" -- "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"
"$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $DB" \
  || { dump_logs "$PGBASE/postgres.log"; die "CREATE DATABASE $DB failed"; }

URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB"
write_env pg <<EOF
export DETOPT_TEST_PG_URL='$URL'
EOF
ok=1
log "PostgreSQL up in $(elapsed "$t0")s: $URL"
