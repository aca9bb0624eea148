#!/usr/bin/env bash
# Create the repo's .venv (if missing) and install detopt editable with its test extras:
#   pip install -c constraints.txt -e ".[test]"
# and the example plugin package the tests use (tests/plugins/detopt-example-plugins).
# Quick when nothing changed: a stamp in .venv records the hash of pyproject.toml + constraints.txt.
# Set DETOPT_FORCE_INSTALL=1 to reinstall anyway.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=$ROOT/.venv
STAMP=$VENV/.detopt-install-stamp
# torch must come from the local CPU wheel; constraints.txt pins it so botorch cannot pull a CUDA build
if [ -z "${PIP_FIND_LINKS:-}" ] && [ -d /opt/wheels ]; then export PIP_FIND_LINKS=/opt/wheels; fi
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x "$VENV/bin/python" ]; then
  echo "[install] creating $VENV" >&2
  python3 -m venv "$VENV"
fi
PLUGINS=tests/plugins/detopt-example-plugins
want=$(cat pyproject.toml constraints.txt "$PLUGINS/pyproject.toml" | sha256sum | cut -d' ' -f1)
if [ "${DETOPT_FORCE_INSTALL:-0}" != 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
   && "$VENV/bin/python" -c 'import importlib.metadata as m; m.version("detopt")' 2> /dev/null; then
  exit 0   # already installed, nothing changed
fi
echo "[install] pip install -c constraints.txt -e '.[test]' into $VENV (log: $VENV/pip-install.log)" >&2
start=$EPOCHREALTIME
rm -f "$STAMP"
# quiet, but errors are shown (the harmless "Location ... is ignored" warning is filtered out)
if ! "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[test]" > "$VENV/pip-install.log" 2>&1; then
  grep -v 'is ignored' "$VENV/pip-install.log" >&2 || true
  echo "[install] ERROR: pip install failed (full log: $VENV/pip-install.log)" >&2
  exit 1
fi
if ! "$VENV/bin/python" -m pip install -q --no-deps -e "$PLUGINS" >> "$VENV/pip-install.log" 2>&1; then
  echo "[install] ERROR: installing $PLUGINS failed (full log: $VENV/pip-install.log)" >&2
  exit 1
fi
grep -v 'is ignored' "$VENV/pip-install.log" >&2 || true
torch_v=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))' 2> /dev/null || echo '?')
echo "$want" > "$STAMP"
awk -v a="$start" -v b="$EPOCHREALTIME" -v t="$torch_v" \
  'BEGIN { printf "[install] done in %.1fs (torch %s)\n", b - a, t }' >&2
