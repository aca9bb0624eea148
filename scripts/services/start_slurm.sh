#!/usr/bin/env bash
# Single-node SLURM (Debian 12: slurm-wlm 22.05) with accounting, as root, loopback only:
#   munged (private key + socket) -> MariaDB -> slurmdbd -> slurmctld -> slurmd
#   partition `debug`, node `localhost` with $DETOPT_SLURM_CPUS (4) schedulable CPUs, tuned scheduler
#   ports: slurmctld $DETOPT_SLURM_PORT (16817), slurmd +1, slurmdbd +2 (binds 0.0.0.0, cannot be
#          restricted in 22.05), MariaDB 127.0.0.1:$DETOPT_MARIADB_PORT (13306)
#   all state + logs under $DETOPT_STATE_DIR/slurm (recreated on every start)
#   writes $DETOPT_STATE_DIR/slurm.env with SLURM_CONF and DETOPT_TEST_SLURM=1
# Clients (sbatch, sacct, ...) need SLURM_CONF=$DETOPT_STATE_DIR/slurm/slurm.conf exported.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

SL=$DETOPT_STATE_DIR/slurm
M=$SL/mysql
CPUS=${DETOPT_SLURM_CPUS:-4}
CTLD_PORT=$DETOPT_SLURM_PORT
SLURMD_PORT=$((DETOPT_SLURM_PORT + 1))
DBD_PORT=$((DETOPT_SLURM_PORT + 2))
DB_PORT=$DETOPT_MARIADB_PORT
export SLURM_CONF=$SL/slurm.conf

for b in munged slurmctld slurmd slurmdbd; do
  [ -x "/usr/sbin/$b" ] || die "/usr/sbin/$b missing (apt-get install slurmctld slurmd slurm-client munge slurmdbd mariadb-server)"
done
for b in sbatch sacct sacctmgr sinfo mariadbd mariadb mariadb-install-db mariadb-admin; do
  command -v "$b" > /dev/null || die "$b missing (apt-get install slurm-client mariadb-server)"
done
id munge > /dev/null 2>&1 || die "user 'munge' does not exist (apt-get install munge)"

t0=$(now_s)
check_state_dir
stop_slurm   # clean stale state from a previous run
rm -f "$DETOPT_STATE_DIR/slurm.env"
rm -rf "$SL"
mkdir -p "$SL/munge" "$SL/state" "$SL/spool" "$SL/log" "$M"
require_ports_free "$CTLD_PORT" "$SLURMD_PORT" "$DBD_PORT" "$DB_PORT"

ok=0
trap '[ $ok = 1 ] || { log "SLURM did not start; stopping what was started"; stop_slurm; }' EXIT

cat > "$SL/slurm.conf" <<CONF
ClusterName=ci
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SL/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$SL/state
SlurmdSpoolDir=$SL/spool
SlurmctldPidFile=$SL/slurmctld.pid
SlurmdPidFile=$SL/slurmd.pid
SlurmctldLogFile=$SL/log/slurmctld.log
SlurmdLogFile=$SL/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$SL/munge/munge.socket
JobCompType=jobcomp/filetxt
JobCompLoc=$SL/log/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
MinJobAge=3600
KillWait=5
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=8192 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

cat > "$SL/slurmdbd.conf" <<CONF
AuthType=auth/munge
AuthInfo=socket=$SL/munge/munge.socket
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
DebugLevel=info
LogFile=$SL/log/slurmdbd.log
PidFile=$SL/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=slurmpw
CONF
chmod 600 "$SL/slurmdbd.conf"

# ---- munged: private key and socket under $SL/munge, runs as user munge (setpriv execs)
dd if=/dev/urandom of="$SL/munge/munge.key" bs=1 count=1024 status=none
chown -R munge:munge "$SL/munge"; chmod 755 "$SL/munge"; chmod 400 "$SL/munge/munge.key"
svc_start munged /usr/sbin/munged "$SL/log/munged.out" \
  setpriv --reuid=munge --regid=munge --clear-groups -- /usr/sbin/munged -F --force \
  --socket="$SL/munge/munge.socket" --key-file="$SL/munge/munge.key" --log-file="$SL/munge/munged.log" \
  --pid-file="$SL/munge/munged.pid" --seed-file="$SL/munge/munged.seed"
munge_ok() {
  munge --socket="$SL/munge/munge.socket" -n | unmunge --socket="$SL/munge/munge.socket" | grep -q 'STATUS: *Success'
}
wait_for "munged credential round trip" "$DETOPT_SERVICE_TIMEOUT" munged \
  "$SL/log/munged.out" "$SL/munge/munged.log" -- munge_ok

# ---- MariaDB for slurmdbd: datadir under $SL/mysql, TCP 127.0.0.1:$DB_PORT + private socket
if ! mariadb-install-db --no-defaults --user=root --datadir="$M/data" --auth-root-authentication-method=socket \
     --skip-test-db > "$M/install-db.log" 2>&1; then
  dump_logs "$M/install-db.log"; die "mariadb-install-db failed"
fi
svc_start mariadbd mariadbd "$M/stdout.log" \
  mariadbd --no-defaults --user=root --datadir="$M/data" --socket="$M/mysql.sock" --port="$DB_PORT" \
  --bind-address=127.0.0.1 --pid-file="$M/mariadbd.pid" --log-error="$M/error.log" \
  --innodb-buffer-pool-size=64M --innodb-lock-wait-timeout=900 \
  --innodb-flush-log-at-trx-commit=0 --skip-log-bin
wait_for "MariaDB ping on $M/mysql.sock" "$DETOPT_SERVICE_TIMEOUT" mariadbd "$M/error.log" "$M/stdout.log" -- \
  mariadb-admin --no-defaults --socket="$M/mysql.sock" -uroot ping
mariadb --no-defaults --socket="$M/mysql.sock" -uroot -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
  CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw';
  CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpw';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" \
  || { dump_logs "$M/error.log"; die "could not create the slurm accounting database"; }

# ---- slurmdbd (finds slurmdbd.conf next to $SLURM_CONF)
svc_start slurmdbd /usr/sbin/slurmdbd "$SL/log/slurmdbd.out" /usr/sbin/slurmdbd -D
wait_for "slurmdbd answering sacctmgr on port $DBD_PORT" "$DETOPT_SERVICE_TIMEOUT" slurmdbd \
  "$SL/log/slurmdbd.log" "$SL/log/slurmdbd.out" "$M/error.log" -- \
  timeout 20 sacctmgr -n list cluster
timeout 30 sacctmgr -i add cluster ci > "$SL/log/sacctmgr.out" 2>&1 \
  || { dump_logs "$SL/log/sacctmgr.out" "$SL/log/slurmdbd.log"; die "sacctmgr add cluster ci failed"; }

# ---- controller and node daemon
svc_start slurmctld /usr/sbin/slurmctld "$SL/log/slurmctld.out" /usr/sbin/slurmctld -D -i -f "$SL/slurm.conf"
svc_start slurmd /usr/sbin/slurmd "$SL/log/slurmd.out" /usr/sbin/slurmd -D -N localhost -f "$SL/slurm.conf"
node_idle() { [ "$(timeout 10 sinfo -h -N -p debug -o %T)" = idle ]; }
wait_for "SLURM node 'localhost' idle in partition debug" "$DETOPT_SERVICE_TIMEOUT" slurmctld \
  "$SL/log/slurmctld.log" "$SL/log/slurmctld.out" "$SL/log/slurmd.log" "$SL/log/slurmd.out" -- node_idle
svc_running slurmd || { dump_logs "$SL/log/slurmd.log" "$SL/log/slurmd.out"; die "slurmd died"; }

write_env slurm <<EOF
export SLURM_CONF='$SL/slurm.conf'
export DETOPT_TEST_SLURM=1
EOF
ok=1
log "SLURM up in $(elapsed "$t0")s: partition debug, $CPUS CPUs, accounting on; export SLURM_CONF=$SL/slurm.conf"
