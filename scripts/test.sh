#!/usr/bin/env bash
# Run detopt's test suite against REAL services (PostgreSQL, single-node SLURM with accounting, Dask).
#
#   scripts/test.sh                 full suite
#   scripts/test.sh --quick         pytest -m "not slow"
#   scripts/test.sh [pytest args]   anything else goes to pytest, e.g. tests/test_services.py -v
#
# Steps: scripts/install.sh (.venv), Debian packages if missing, start PostgreSQL, SLURM(+slurmdbd) and
# Dask, export DETOPT_TEST_PG_URL / DETOPT_TEST_DASK_ADDRESS / SLURM_CONF / DETOPT_TEST_SLURM /
# DETOPT_STATE_DIR, run `.venv/bin/python -m pytest`, and stop every service by PID on exit -- also when
# tests fail or the script is interrupted. Exits with pytest's status.
#
# Environment: DETOPT_STATE_DIR (default /tmp/detopt-ci), DETOPT_SERVICES (default "pg slurm dask activemq
# idds"; idds needs pg and activemq before it; the iDDS agents are started by the tests that need them),
# DETOPT_KEEP_SERVICES=1 (leave them running for debugging; stop with scripts/services/stop_all.sh).
# See docs/testing.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
S=$ROOT/scripts/services
# shellcheck source=services/lib.sh
. "$S/lib.sh"

args=()
for a in "$@"; do
  if [ "$a" = --quick ]; then args+=(-m "not slow"); else args+=("$a"); fi
done
SERVICES=${DETOPT_SERVICES:-pg slurm dask activemq idds}

say() { printf '[test.sh] %s\n' "$*" >&2; }
TIMINGS=()
phase() {   # phase NAME CMD...: run CMD, record its wall time
  local name=$1 t; shift
  t=$(now_s)
  "$@"
  TIMINGS+=("$name $(elapsed "$t")s")
}
T0=$(now_s)

PYTEST_PID=
# stop_pytest [GRACE]: make a running pytest finish (on SIGINT it prints its summary), escalating if
# needed. GRACE seconds first: after a SIGINT to the whole process group (Ctrl-C in a terminal, or a
# `kill -INT -PGID`) pytest already has one, and a second one would abort its interrupt report.
stop_pytest() {
  [ -n "$PYTEST_PID" ] && alive "$PYTEST_PID" || return 0
  if [ "${1:-0}" -gt 0 ] && wait_pid_gone "$PYTEST_PID" "$1"; then return 0; fi
  kill -INT "$PYTEST_PID" 2> /dev/null || true
  wait_pid_gone "$PYTEST_PID" 30 && return 0
  kill -TERM "$PYTEST_PID" 2> /dev/null || true
  wait_pid_gone "$PYTEST_PID" 10 || kill -KILL "$PYTEST_PID" 2> /dev/null || true
}
cleanup() {
  local rc=$?
  # Finish the cleanup whatever happens meanwhile: a second Ctrl-C, or a closed output pipe (e.g. a
  # `| tee` killed by the same Ctrl-C -- writing to it must not kill this script with SIGPIPE).
  trap '' INT TERM HUP PIPE
  trap - EXIT
  set +e
  stop_pytest
  if [ "${DETOPT_KEEP_SERVICES:-0}" = 1 ]; then
    say "DETOPT_KEEP_SERVICES=1: services left running; env in $DETOPT_STATE_DIR/*.env; stop with scripts/services/stop_all.sh"
  else
    local t; t=$(now_s)
    "$S/stop_all.sh" 2>&1 | tee -p -a "$DETOPT_STATE_DIR/stop.log" >&2
    TIMINGS+=("stop $(elapsed "$t")s")
  fi
  say "timings: ${TIMINGS[*]:-} total $(elapsed "$T0")s"
  [ "$rc" = 0 ] || say "exit status $rc; service logs are under $DETOPT_STATE_DIR (see docs/testing.md)"
  exit "$rc"
}
on_signal() {   # stop pytest, then exit 128+n; the EXIT trap stops the services
  trap '' INT TERM HUP PIPE
  set +e
  say "received SIG$1, stopping tests and services"
  if [ "$1" = TERM ]; then stop_pytest 0; else stop_pytest 3; fi
  exit "$2"
}

phase install "$ROOT/scripts/install.sh"
phase apt "$S/install_packages.sh"

# From here on services get started: stop them whatever happens.
mkdir -p "$DETOPT_STATE_DIR"; rm -f "$DETOPT_STATE_DIR/stop.log"
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

for svc in $SERVICES; do
  case $svc in
    pg|postgres) phase pg "$S/start_pg.sh"; . "$DETOPT_STATE_DIR/pg.env" ;;
    slurm)       phase slurm "$S/start_slurm.sh"; . "$DETOPT_STATE_DIR/slurm.env" ;;
    dask)        phase dask "$S/start_dask.sh"; . "$DETOPT_STATE_DIR/dask.env" ;;
    activemq)    phase activemq "$S/start_activemq.sh"; . "$DETOPT_STATE_DIR/activemq.env" ;;
    idds)        phase idds "$S/start_idds.sh"; . "$DETOPT_STATE_DIR/idds.env" ;;
    *) die "unknown service '$svc' in DETOPT_SERVICES (known: pg slurm dask activemq idds)" ;;
  esac
done
export DETOPT_STATE_DIR
say "services: ${SERVICES}; DETOPT_TEST_PG_URL=${DETOPT_TEST_PG_URL:-} DETOPT_TEST_DASK_ADDRESS=${DETOPT_TEST_DASK_ADDRESS:-} SLURM_CONF=${SLURM_CONF:-} DETOPT_TEST_AMQ_STOMP=${DETOPT_TEST_AMQ_STOMP:-} DETOPT_TEST_IDDS_HOST=${DETOPT_TEST_IDDS_HOST:-}"

# pytest runs in the background so that a signal to this script is handled at once (bash defers traps
# while a foreground child runs); `env --default-signal=INT` undoes the SIGINT-ignore that bash applies
# to background jobs, so pytest can still be interrupted cleanly.
say "running: .venv/bin/python -m pytest ${args[*]:-}"
t=$(now_s)
rc=0
env --default-signal=INT "$ROOT/.venv/bin/python" -m pytest ${args[@]+"${args[@]}"} &
PYTEST_PID=$!
wait "$PYTEST_PID" || rc=$?
PYTEST_PID=
TIMINGS+=("pytest $(elapsed "$t")s")
exit "$rc"
