#!/usr/bin/env bash
# The README's main job: install detopt into .venv, then run the dRICH optimization on this
# machine (local runner, embedded SQLite store) and write its HTML report.
#
#   scripts/demo.sh                 the dRICH study (examples/drich.yaml)
#   scripts/demo.sh examples/x.yaml another configuration
#
# The demo's own database (runs/<study>.db) is replaced on every run, so the command can be
# repeated; use 'detopt run' directly for studies you want to keep and resume.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CONFIG=${1:-examples/drich.yaml}
if [ ! -f "$CONFIG" ]; then
  echo "scripts/demo.sh: no configuration file '$CONFIG'; pass the path of a study YAML (e.g. examples/dtlz2.yaml)" >&2
  exit 2
fi
scripts/install.sh
NAME=$(.venv/bin/python -c 'import sys; from detopt.config import load_config, storage_target; c = load_config(sys.argv[1]); print(c.name); print(storage_target(c))' "$CONFIG")
STUDY=$(echo "$NAME" | sed -n 1p)
DB=$(echo "$NAME" | sed -n 2p | sed 's#^sqlite:///##')
if [ -f "$DB" ]; then
  echo "[demo] replacing the demo database $DB" >&2
  rm -f "$DB" "$DB-wal" "$DB-shm"
fi
exec .venv/bin/detopt run "$CONFIG"
