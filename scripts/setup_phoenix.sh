#!/usr/bin/env bash
# Create (idempotently) the isolated virtualenv holding Arize Phoenix and the rotel collector that the
# export tests (tests/export) run as real backends. Their dependencies stay out of the project's venv.
#   scripts/setup_phoenix.sh            # ~2 min the first time, instant afterwards
# Env: OTELCHAIN_PHOENIX_VENV (default .venv-phoenix), PHOENIX_PYTHON, PHOENIX_SPEC, ROTEL_SPEC.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${OTELCHAIN_PHOENIX_VENV:-$ROOT/.venv-phoenix}"
PHOENIX_SPEC="${PHOENIX_SPEC:-arize-phoenix==20.26.1}"
ROTEL_SPEC="${ROTEL_SPEC:-rotel==0.0.1a15}"
STAMP="$VENV/.otelchain-ready"
WANT="$PHOENIX_SPEC $ROTEL_SPEC"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/python" ]]; then
    echo "phoenix venv ready: $VENV ($WANT)"
    exit 0
fi

PY="${PHOENIX_PYTHON:-}"
if [[ -z "$PY" ]]; then
    for candidate in python3.11 python3.12 python3; do
        if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
    done
fi
start=$(date +%s)
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
pip_install() {
    # Hide the harmless per-package notes about absent local mirrors some machines configure.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2>&1 \
        | { grep -v "^WARNING: Location 'file://" || true; }
    return "${PIPESTATUS[0]}"
}
pip_install --upgrade pip
pip_install "$PHOENIX_SPEC" "$ROTEL_SPEC"
"$VENV/bin/python" -c "import phoenix.server.main, grpc.aio; print('phoenix', __import__('phoenix').__version__)"
ls "$VENV"/lib/python*/site-packages/rotel/rotel-agent >/dev/null
echo "$WANT" >"$STAMP"
echo "phoenix venv installed in $(($(date +%s) - start))s: $VENV"
