#!/usr/bin/env bash
# Stop every service the start_*.sh scripts started under $DETOPT_STATE_DIR, by recorded PID only
# (also after a half-finished start). Safe to run any number of times; logs and data stay for debugging.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ -d "$DETOPT_RUN_DIR" ] || exit 0
t0=$(now_s)
# iDDS writes to PostgreSQL: stop it first. Then the stacks are independent: stop them in parallel.
stop_idds
stop_dask & p1=$!
stop_pg & p2=$!
stop_slurm & p3=$!
stop_activemq & p4=$!
wait $p1 $p2 $p3 $p4
# Anything else recorded (e.g. a pid file written by a newer start script)
for f in "$DETOPT_RUN_DIR"/*.pid; do
  [ -e "$f" ] && svc_stop "$(basename "$f" .pid)" TERM 30
done
log "all services stopped in $(elapsed "$t0")s (state and logs kept in $DETOPT_STATE_DIR)"
exit 0
