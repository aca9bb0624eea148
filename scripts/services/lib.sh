# shellcheck shell=bash
# Common helpers for the scripts/services/*.sh service scripts. Source it, don't run it.
#
# Process model: every daemon runs in the foreground, is put in the background with `&` under `setsid`
# (own session, so a Ctrl-C on the terminal does not hit it; our traps stop it in order) and, where it
# must drop root, under `setpriv` (which execs). So `$!` is the daemon itself; it is written to
# $DETOPT_RUN_DIR/<name>.pid together with a pattern its command line must contain. Stopping only
# ever signals a recorded PID whose command line still matches (protects against PID reuse).

umask 022

DETOPT_SERVICES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DETOPT_REPO_ROOT=$(cd "$DETOPT_SERVICES_DIR/../.." && pwd)

export DETOPT_STATE_DIR=${DETOPT_STATE_DIR:-/tmp/detopt-ci}
DETOPT_RUN_DIR=$DETOPT_STATE_DIR/run                 # pid files
DETOPT_VENV=${DETOPT_VENV:-$DETOPT_REPO_ROOT/.venv}
DETOPT_SERVICE_TIMEOUT=${DETOPT_SERVICE_TIMEOUT:-120} # seconds a service may take to come up

# Ports (loopback only). Override all of them to run a second stack beside a first one.
DETOPT_PG_PORT=${DETOPT_PG_PORT:-15432}
DETOPT_DASK_PORT=${DETOPT_DASK_PORT:-18786}           # dashboard: +1
DETOPT_SLURM_PORT=${DETOPT_SLURM_PORT:-16817}         # slurmctld; slurmd +1, slurmdbd +2
DETOPT_MARIADB_PORT=${DETOPT_MARIADB_PORT:-13306}
DETOPT_AMQ_STOMP_PORT=${DETOPT_AMQ_STOMP_PORT:-61633}       # ActiveMQ STOMP (PanDA/iDDS tests)
DETOPT_AMQ_OPENWIRE_PORT=${DETOPT_AMQ_OPENWIRE_PORT:-61636}
DETOPT_IDDS_PORT=${DETOPT_IDDS_PORT:-18443}                 # iDDS REST server (plain http, test auth shim)

log() { printf '[detopt-services] %s\n' "$*" >&2; }

# now_s: seconds since the epoch with microseconds (bash 5, no bc needed)
now_s() { printf '%s' "$EPOCHREALTIME"; }
# elapsed START -> "1.23"
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# dump_logs FILE... : print the tail of each existing log file to stderr
dump_logs() {
  local f
  for f in "$@"; do
    [ -e "$f" ] || { printf '  (log %s does not exist)\n' "$f" >&2; continue; }
    printf '\n----- last 40 lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2 || true
  done
  printf -- '-----\n' >&2
}

die() { log "ERROR: $*"; exit 1; }

# check_state_dir: short enough for Unix sockets below it, and searchable by munge/postgres users.
check_state_dir() {
  local d=$DETOPT_STATE_DIR
  case $d in /*) ;; *) die "DETOPT_STATE_DIR must be an absolute path (got '$d')" ;; esac
  # longest socket below it: $DETOPT_STATE_DIR/slurm/munge/munge.socket(.lock) ~ +32 bytes; limit 107
  if [ ${#d} -gt 70 ]; then
    die "DETOPT_STATE_DIR='$d' is ${#d} bytes long; keep it <= 70 (Unix socket paths below it are limited to 107 bytes)"
  fi
  mkdir -p "$d" "$DETOPT_RUN_DIR"   # new directories get 755 (umask 022 above)
  local p=$d mode
  while [ -n "$p" ] && [ "$p" != / ]; do
    mode=$(stat -c %A "$p")
    case ${mode:9:1} in
      x|t) ;;
      *) die "'$p' ($mode) is not searchable by others (o+x); munged/postgres run as their own users and need it. chmod o+x '$p' or choose another DETOPT_STATE_DIR" ;;
    esac
    p=$(dirname "$p")
  done
}

# alive PID: exists and is not a zombie (orphans are reaped late by PID 1 on the CI machine type)
alive() {
  local s
  s=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$s" ] && [ "$s" != Z ]
}

# cmdline PID: the process's command line with spaces
cmdline() { tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null; }

# svc_start NAME PATTERN LOGFILE CMD...: start CMD in the background in its own session, record its PID.
svc_start() {
  local name=$1 pattern=$2 logf=$3; shift 3
  mkdir -p "$DETOPT_RUN_DIR" "$(dirname "$logf")"
  setsid "$@" < /dev/null > "$logf" 2>&1 &
  local pid=$!
  printf '%s %s\n' "$pid" "$pattern" > "$DETOPT_RUN_DIR/$name.pid"
  log "started $name (pid $pid), log: $logf"
}

# svc_pid NAME: the recorded PID if that process is alive and still matches its pattern
svc_pid() {
  local f=$DETOPT_RUN_DIR/$1.pid pid pattern
  [ -s "$f" ] || return 1
  read -r pid pattern < "$f" || true
  [ -n "$pid" ] && alive "$pid" || return 1
  case $(cmdline "$pid") in *"$pattern"*) printf '%s' "$pid" ;; *) return 1 ;; esac
}

svc_running() { svc_pid "$1" > /dev/null; }

# wait_pid_gone PID SECONDS
wait_pid_gone() {
  local pid=$1 end=$(( SECONDS + $2 ))
  while alive "$pid"; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done
}

# svc_stop NAME [SIGNAL] [TIMEOUT]: stop the recorded process (and, for dask nannies, its children);
# SIGKILL after TIMEOUT seconds. Always removes the pid file. Never signals an unrelated process.
svc_stop() {
  local name=$1 sig=${2:-TERM} timeout=${3:-30} f=$DETOPT_RUN_DIR/$1.pid pid pattern kids t0
  [ -e "$f" ] || return 0
  read -r pid pattern < "$f" || true
  if [ -n "${pid:-}" ] && alive "$pid"; then
    case $(cmdline "$pid") in
      *"$pattern"*)
        t0=$(now_s)
        kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ' || true)
        kill "-$sig" "$pid" 2>/dev/null || true
        if ! wait_pid_gone "$pid" "$timeout"; then
          log "WARNING: $name (pid $pid) ignored SIG$sig for ${timeout}s, sending SIGKILL"
          kill -KILL "$pid" 2>/dev/null || true
          wait_pid_gone "$pid" 5 || log "WARNING: $name (pid $pid) still there after SIGKILL"
        fi
        local k
        for k in $kids; do   # children of the recorded process (e.g. the worker under a dask nanny)
          alive "$k" || continue
          wait_pid_gone "$k" 5 || { kill -TERM "$k" 2>/dev/null || true; wait_pid_gone "$k" 10 || kill -KILL "$k" 2>/dev/null || true; }
        done
        log "stopped $name (pid $pid) in $(elapsed "$t0")s"
        ;;
      *) log "pid file of $name names pid $pid, which is no longer '$pattern'; not touching it" ;;
    esac
  fi
  rm -f "$f"
}

# port_busy PORT: true if something accepts TCP connections on 127.0.0.1:PORT
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# require_ports_free PORT...: fail loudly (with who listens) when a port is already taken
require_ports_free() {
  local p
  for p in "$@"; do
    if port_busy "$p"; then
      log "ERROR: port 127.0.0.1:$p is already in use by a process this state dir does not know about:"
      ss -ltnp 2>/dev/null | awk -v p=":$p" 'NR == 1 || index($4, p) ' >&2 || true
      die "stop that process, or choose other ports (DETOPT_PG_PORT, DETOPT_DASK_PORT, DETOPT_SLURM_PORT, DETOPT_MARIADB_PORT, DETOPT_AMQ_STOMP_PORT, DETOPT_AMQ_OPENWIRE_PORT, DETOPT_IDDS_PORT)"
    fi
  done
}

# wait_for DESCRIPTION SECONDS PROCNAME|- LOGFILES -- CMD...
# Poll CMD (quietly) every 0.2 s until it succeeds. Fail loudly with the log tails when the deadline
# passes or when the recorded process PROCNAME has died meanwhile.
wait_for() {
  local desc=$1 secs=$2 proc=$3; shift 3
  local logs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do logs+=("$1"); shift; done
  shift
  local end=$(( SECONDS + secs ))
  until "$@" > /dev/null 2>&1; do
    if [ "$proc" != - ] && ! svc_running "$proc"; then
      log "ERROR: $proc exited while waiting for: $desc"
      dump_logs "${logs[@]}"
      return 1
    fi
    if [ $SECONDS -ge $end ]; then
      log "ERROR: timed out after ${secs}s waiting for: $desc"
      dump_logs "${logs[@]}"
      return 1
    fi
    sleep 0.2
  done
}

# write_env NAME: write stdin as $DETOPT_STATE_DIR/NAME.env (sourceable exports for the tests)
write_env() { cat > "$DETOPT_STATE_DIR/$1.env"; }

# ---- per-service stop functions (used by the start scripts to clean stale state, and by stop_all.sh)

stop_pg() { svc_stop postgres INT 30; rm -f "$DETOPT_STATE_DIR/pg.env"; }   # SIGINT = fast shutdown

stop_dask() {
  local f
  for f in "$DETOPT_RUN_DIR"/dask-worker*.pid; do   # workers (nannies) before the scheduler
    [ -e "$f" ] && svc_stop "$(basename "$f" .pid)" TERM 30
  done
  svc_stop dask-scheduler TERM 30
  rm -f "$DETOPT_STATE_DIR/dask.env"
}

stop_slurm() {
  # Cancel jobs first: their slurmstepd/job processes are not children of slurmd.
  if svc_running slurmctld && [ -e "$DETOPT_STATE_DIR/slurm/slurm.conf" ]; then
    local jobs end
    jobs=$(SLURM_CONF=$DETOPT_STATE_DIR/slurm/slurm.conf timeout 10 squeue -h -o %i 2> /dev/null || true)
    if [ -n "$jobs" ]; then
      log "cancelling SLURM jobs: $(printf '%s ' $jobs)"
      # shellcheck disable=SC2086
      SLURM_CONF=$DETOPT_STATE_DIR/slurm/slurm.conf timeout 10 scancel $jobs 2> /dev/null || true
      end=$(( SECONDS + 20 ))
      while [ -n "$(SLURM_CONF=$DETOPT_STATE_DIR/slurm/slurm.conf timeout 10 squeue -h -o %i 2> /dev/null)" ] \
            && [ $SECONDS -lt $end ]; do sleep 0.2; done
    fi
  fi
  svc_stop slurmd TERM 30
  svc_stop slurmctld TERM 30
  svc_stop slurmdbd TERM 30
  svc_stop mariadbd TERM 10   # throwaway DB; a mariadbd still initialising can ignore SIGTERM
  svc_stop munged TERM 30
  rm -f "$DETOPT_STATE_DIR/slurm.env"
}

stop_activemq() { svc_stop activemq TERM 30; rm -f "$DETOPT_STATE_DIR/activemq.env"; }

# iDDS agents first (they write to the database), then the REST server
stop_idds_agents() { svc_stop idds-agents TERM 20; }
stop_idds() { stop_idds_agents; svc_stop idds-rest TERM 20; rm -f "$DETOPT_STATE_DIR/idds.env"; }
