#!/usr/bin/env bash
# Real Dask cluster: `dask scheduler` + $DETOPT_DASK_WORKERS (2) `dask worker` processes, 1 thread each,
# everything on 127.0.0.1. Runs with the repo's .venv (so workers can import detopt): run
# scripts/install.sh first.
#   scheduler tcp://127.0.0.1:$DETOPT_DASK_PORT (18786), dashboard 127.0.0.1:$((DETOPT_DASK_PORT+1))
#   logs + worker dirs under $DETOPT_STATE_DIR/dask (recreated on every start)
#   writes $DETOPT_STATE_DIR/dask.env with DETOPT_TEST_DASK_ADDRESS
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

D=$DETOPT_STATE_DIR/dask
PORT=$DETOPT_DASK_PORT
N=${DETOPT_DASK_WORKERS:-2}
ADDR=tcp://127.0.0.1:$PORT
PY=$DETOPT_VENV/bin/python
[ -x "$PY" ] && [ -x "$DETOPT_VENV/bin/dask" ] \
  || die "$DETOPT_VENV has no python/dask: run scripts/install.sh first"

t0=$(now_s)
check_state_dir
stop_dask   # clean stale state from a previous run
rm -f "$DETOPT_STATE_DIR/dask.env"
rm -rf "$D"
mkdir -p "$D"
require_ports_free "$PORT" "$((PORT + 1))"

ok=0
trap '[ $ok = 1 ] || { log "Dask did not start; stopping what was started"; stop_dask; }' EXIT

# Workers: one thread, no BLAS/OpenMP oversubscription on the 2-core machine.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export PYTHONUNBUFFERED=1
# The scheduler deserializes task graphs and the workers run them: both must be able to import what a
# test submits. detopt comes from the editable install in .venv. pytest (rootdir conftest, no
# __init__.py, "prepend" import mode) imports tests/**/*.py as top-level modules with their directory
# on sys.path; the same directories go on PYTHONPATH here, so that functions defined at module level in
# test files (or helper modules next to them) can be submitted too.
testpath=$(find "$DETOPT_REPO_ROOT/tests" -name __pycache__ -prune -o -type f -name '*.py' -printf '%h\n' \
           2> /dev/null | sort -u | paste -sd: -)
export PYTHONPATH=$testpath${PYTHONPATH:+:$PYTHONPATH}

svc_start dask-scheduler "dask scheduler" "$D/scheduler.log" \
  "$DETOPT_VENV/bin/dask" scheduler --host 127.0.0.1 --port "$PORT" \
  --dashboard-address "127.0.0.1:$((PORT + 1))"
wait_for "Dask scheduler listening on 127.0.0.1:$PORT" "$DETOPT_SERVICE_TIMEOUT" dask-scheduler \
  "$D/scheduler.log" -- port_busy "$PORT"

logs=("$D/scheduler.log")
for w in $(seq 1 "$N"); do
  # cwd = repo root, like pytest's; --death-timeout: a worker whose scheduler vanished exits by itself
  (cd "$DETOPT_REPO_ROOT" && svc_start "dask-worker$w" "dask worker" "$D/worker$w.log" \
    "$DETOPT_VENV/bin/dask" worker "$ADDR" --host 127.0.0.1 --nthreads 1 --nworkers 1 \
    --dashboard-address 127.0.0.1:0 --name "w$w" --local-directory "$D/w$w" --death-timeout 60)
  logs+=("$D/worker$w.log")
done

wait_for "$N Dask workers connected to $ADDR" "$DETOPT_SERVICE_TIMEOUT" dask-scheduler "${logs[@]}" -- \
  timeout "$DETOPT_SERVICE_TIMEOUT" "$PY" -c "
from distributed import Client
with Client('$ADDR', timeout=30) as c:
    c.wait_for_workers($N, timeout=$DETOPT_SERVICE_TIMEOUT)
"
for w in $(seq 1 "$N"); do
  svc_running "dask-worker$w" || { dump_logs "${logs[@]}"; die "dask-worker$w died"; }
done

write_env dask <<EOF
export DETOPT_TEST_DASK_ADDRESS='$ADDR'
EOF
ok=1
log "Dask up in $(elapsed "$t0")s: $ADDR with $N workers ($PY)"
