#!/usr/bin/env bash
# Install the Debian packages the test services need, if any is missing (needs root; Debian 12).
#   SLURM + accounting: slurmctld slurmd slurm-client munge slurmdbd mariadb-server
#   PostgreSQL: any /usr/lib/postgresql/<ver>/bin/postgres, else the `postgresql` package
#   ActiveMQ (PanDA/iDDS runner tests): activemq, and a Java runtime if there is none; openssl
#   bubblewrap: the container engine of the pipeline tests (tests/pipeline/test_container.py)
# Nothing gets started: a policy-rc.d that forbids starting services is put in place for the
# duration of the install if the machine has none.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

want=(slurmctld slurmd slurm-client munge slurmdbd mariadb-server bubblewrap)
missing=()
for p in "${want[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2> /dev/null)" = "install ok installed" ] || missing+=("$p")
done
ls /usr/lib/postgresql/*/bin/postgres > /dev/null 2>&1 || missing+=(postgresql)
[ -r /usr/share/activemq/bin/activemq.jar ] || missing+=(activemq)
command -v java > /dev/null 2>&1 || missing+=(default-jre-headless)
command -v openssl > /dev/null 2>&1 || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0

[ "$(id -u)" = 0 ] || die "missing Debian packages (${missing[*]}) and not root; install them with apt-get"
mkdir -p "$DETOPT_STATE_DIR"
aptlog=$DETOPT_STATE_DIR/apt.log
t0=$(now_s)
log "installing Debian packages: ${missing[*]} (log: $aptlog)"
export DEBIAN_FRONTEND=noninteractive
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
fi
trap 'if [ $made_policy = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
if ! apt-get "${apt_opts[@]}" update > "$aptlog" 2>&1; then
  dump_logs "$aptlog"; die "apt-get update failed"
fi
if ! apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >> "$aptlog" 2>&1; then
  dump_logs "$aptlog"; die "apt-get install ${missing[*]} failed"
fi
log "Debian packages installed in $(elapsed "$t0")s"
