#!/usr/bin/env bash
# Create (idempotently) the isolated virtualenv that holds Arize Phoenix and the rotel collector
# used by the export tests. Their dependencies stay out of the project's own venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${OTELCHAIN_PHOENIX_VENV:-$ROOT/.venv-phoenix}"
PY="${PHOENIX_PYTHON:-python3.11}"
PHOENIX_SPEC="${PHOENIX_SPEC:-arize-phoenix}"
ROTEL_SPEC="${ROTEL_SPEC:-rotel}"
STAMP="$VENV/.otelchain-ready"

if [[ -f "$STAMP" && -x "$VENV/bin/phoenix" ]]; then
    echo "phoenix venv ready: $VENV"
    exit 0
fi
start=$(date +%s)
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$PHOENIX_SPEC" "$ROTEL_SPEC"
"$VENV/bin/python" -c "import phoenix; print('phoenix', phoenix.__version__)"
touch "$STAMP"
echo "phoenix venv installed in $(( $(date +%s) - start ))s: $VENV"
