#!/usr/bin/env bash
# iDDS (idds-server 2.6.21 from the repo's .venv) for the PanDA/iDDS runner tests.
#
#   start_idds.sh          tier B: the iDDS REST server on PostgreSQL (database idds in the cluster of
#                          start_pg.sh), http://127.0.0.1:$DETOPT_IDDS_PORT/idds (18443), behind a
#                          test-only shim standing in for Apache's X.509 check
#                          (scripts/services/idds_rest_server.py); broker config from start_activemq.sh
#   start_idds.sh agents   tier C: also the iDDS agents (clerk, transformer, submitter, poller, finisher)
#                          with the test-only carrier plugin tests/panda/localpanda.py standing in for
#                          PanDA (it runs each job on this machine). Agents poll the database all the
#                          time: the tests that need them start them and stop them (stop_idds_agents,
#                          or scripts/services/start_idds.sh stop-agents) when done.
#   start_idds.sh stop-agents
#
# Needs: start_pg.sh and start_activemq.sh first (pg.env, activemq.env). Config, logs and job
# directories under $DETOPT_STATE_DIR/idds. Writes $DETOPT_STATE_DIR/idds.env (DETOPT_TEST_IDDS_*).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

I=$DETOPT_STATE_DIR/idds
PORT=$DETOPT_IDDS_PORT
PY=$DETOPT_VENV/bin/python
mode=${1:-rest}
t0=$(now_s)

if [ "$mode" = stop-agents ]; then stop_idds_agents; exit 0; fi
if [ "$mode" = agents ]; then
  [ -s "$DETOPT_STATE_DIR/idds.env" ] && svc_running idds-rest || die "the iDDS REST server is not running (start_idds.sh first)"
  stop_idds_agents
  mkdir -p "$I/jobs"
  # the agents' environment is inherited by the jobs localpanda starts (see its docstring)
  (cd "$I" && IDDS_CONFIG=$I/idds.cfg IDDS_AUTH_CONFIG=$I/auth.cfg \
     PYTHONPATH=$DETOPT_REPO_ROOT/tests/panda${PYTHONPATH:+:$PYTHONPATH} \
     LOCALPANDA_JOBS=$I/jobs LOCALPANDA_BIN=$DETOPT_VENV/bin LOCALPANDA_IDDS_HOST=http://127.0.0.1:$PORT/idds \
     LOCALPANDA_PROXY=$I/test-proxy.pem \
     svc_start idds-agents "idds.agents.main" "$I/logs/agents.out" nice -n 5 "$PY" -m idds.agents.main)
  # ready when every agent has logged its start (bounded wait; a dead process fails at once)
  wait_for "iDDS agents running" "$DETOPT_SERVICE_TIMEOUT" idds-agents "$I/logs/agents.out" -- \
    grep -q 'Finisher.*Starting main thread' "$I/logs/agents.out" \
    || { stop_idds_agents; exit 1; }
  log "iDDS agents up in $(elapsed "$t0")s (localpanda jobs under $I/jobs)"
  exit 0
fi

[ -x "$PY" ] && "$PY" -c "import importlib.util as u; assert u.find_spec('idds.rest.v1.app') and u.find_spec('idds.agents.main')" 2> /dev/null \
  || die "$DETOPT_VENV has no idds-server: run scripts/install.sh first"
[ -s "$DETOPT_STATE_DIR/pg.env" ] || die "PostgreSQL is not running (start_pg.sh first)"
[ -s "$DETOPT_STATE_DIR/activemq.env" ] || die "ActiveMQ is not running (start_activemq.sh first)"
# shellcheck disable=SC1091
. "$DETOPT_STATE_DIR/activemq.env"
PSQL=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql

check_state_dir
stop_idds
rm -rf "$I"
mkdir -p "$I/logs" "$I/cache" "$I/jobs"
require_ports_free "$PORT"
ok=0
trap '[ $ok = 1 ] || { log "iDDS did not start; stopping what was started"; stop_idds; }' EXIT

"$PSQL" -h 127.0.0.1 -p "$DETOPT_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q <<'SQL' > "$I/logs/psql.log" 2>&1 \
  || { dump_logs "$I/logs/psql.log"; die "creating the idds database failed"; }
DROP DATABASE IF EXISTS idds;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'iddsuser') THEN CREATE ROLE iddsuser LOGIN PASSWORD 'iddspass'; END IF;
END $$;
CREATE DATABASE idds OWNER iddsuser;
SQL

# One file for the REST server and the agents (iDDS does not expand variables: written expanded here).
# Poll periods are short for the tests (defaults are minutes) but not zero: the agents share 2 cores.
cat > "$I/idds.cfg" <<CFG
[common]
loglevel = INFO
logdir = $I/logs

[database]
default = postgresql+psycopg2://iddsuser:iddspass@127.0.0.1:$DETOPT_PG_PORT/idds
schema = doma_idds
pool_size = 2
pool_recycle = 3600
echo = 0

[rest]
host = http://127.0.0.1:$PORT/idds
cacher_dir = $I/cache

[asyncresult]
broker_type = activemq
brokers = $DETOPT_TEST_AMQ_STOMP
broker_destination = $DETOPT_TEST_AMQ_DESTINATION
broker_timeout = 30
broker_username = $DETOPT_TEST_AMQ_USER
broker_password = $DETOPT_TEST_AMQ_PASSWORD

[main]
agents = clerk, transformer, submitter, poller, finisher

[eventbus]
backend = default

[clerk]
num_threads = 1
max_number_workers = 2
poll_period = 3
new_poll_period = 1
update_poll_period = 3
new_command_poll_period = 2
update_command_poll_period = 5
max_update_poll_period = 5
max_new_poll_period = 5
poll_time_period = 1
poll_operation_time_period = 2
retrieve_bulk_size = 8
pending_time = 1

[transformer]
num_threads = 1
poll_period = 3
new_poll_period = 1
update_poll_period = 3
max_update_poll_period = 5
max_new_poll_period = 5
poll_time_period = 1
retrieve_bulk_size = 8
poll_operation_time_period = 2
message_bulk_size = 100

[carrier]
num_threads = 1
max_number_workers = 4
trigger_max_number_workers = 2
finisher_max_number_workers = 2
receiver_num_threads = 1
poll_period = 3
new_poll_period = 1
update_poll_period = 3
update_poll_period_for_new_task = 3
max_update_poll_period = 5
max_new_poll_period = 5
poll_time_period = 1
poll_operation_time_period = 2
retrieve_bulk_size = 8
message_bulk_size = 100
plugin.iwork_submitter = localpanda.LocalSubmitterPoller
plugin.iworkflow_submitter = localpanda.LocalSubmitterPoller
plugin.iworkflow_poller = localpanda.LocalSubmitterPoller
plugin.iwork_poller = localpanda.LocalSubmitterPoller
CFG
cat > "$I/auth.cfg" <<'CFG'
[common]
allow_vos = test

[Users]
allow_users = CN=detopt-test
ban_users = nobody-banned
super_users = idds
CFG
# A self-signed certificate + key in one file, shaped like an X.509 proxy, valid for 2 days: detopt
# checks its dates; on plain http the REST shim supplies the DN. It grants nothing anywhere else.
openssl req -x509 -newkey rsa:2048 -nodes -subj "/DC=test/CN=detopt-test" -days 2 \
  -keyout "$I/test-proxy.key" -out "$I/test-proxy.crt" > "$I/logs/openssl.log" 2>&1 \
  || { dump_logs "$I/logs/openssl.log"; die "openssl could not make the test certificate"; }
cat "$I/test-proxy.crt" "$I/test-proxy.key" > "$I/test-proxy.pem"; chmod 600 "$I/test-proxy.pem"
rm -f "$I/test-proxy.key"

export IDDS_CONFIG=$I/idds.cfg IDDS_AUTH_CONFIG=$I/auth.cfg
if ! "$PY" "$DETOPT_SERVICES_DIR/idds_rest_server.py" "$PORT" schema > "$I/logs/schema.log" 2>&1; then
  dump_logs "$I/logs/schema.log"; die "building the iDDS schema failed"
fi
(cd "$I" && svc_start idds-rest "idds_rest_server.py" "$I/logs/rest.out" \
   "$PY" "$DETOPT_SERVICES_DIR/idds_rest_server.py" "$PORT")
wait_for "iDDS REST on 127.0.0.1:$PORT" "$DETOPT_SERVICE_TIMEOUT" idds-rest "$I/logs/rest.out" -- port_busy "$PORT"

write_env idds <<ENV
export DETOPT_TEST_IDDS_HOST='http://127.0.0.1:$PORT/idds'
export DETOPT_TEST_IDDS_DIR='$I'
export DETOPT_TEST_IDDS_PROXY='$I/test-proxy.pem'
ENV
ok=1
log "iDDS REST up in $(elapsed "$t0")s: http://127.0.0.1:$PORT/idds (database idds on port $DETOPT_PG_PORT)"
