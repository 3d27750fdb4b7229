#!/usr/bin/env bash
# Create (idempotently) .venv-openai2: otelchain with the previous generation of the openai client
# (2.x, which sends through httpx rather than httpx2), for tests/integrations' client-generation test.
#   scripts/setup_openai2.sh            # ~30 s the first time, instant afterwards
# Env: OTELCHAIN_OPENAI2_VENV (default .venv-openai2), PYTHON.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${OTELCHAIN_OPENAI2_VENV:-$ROOT/.venv-openai2}"
SPECS=("openai>=2.45,<3" "langchain-openai>=1,<2" "langchain-core>=1,<2" "opentelemetry-instrumentation-httpx")
WANT="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1) ${SPECS[*]}"
STAMP="$VENV/.otelchain-ready"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/python" ]]; then
    exit 0
fi
start=$(date +%s)
[[ -x "$VENV/bin/python" ]] || "${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT" "${SPECS[@]}" 2>&1 \
    | { grep -v "^WARNING: Location 'file://" || true; }
"$VENV/bin/python" -c "import openai, httpx; assert openai.__version__.startswith('2.'), openai.__version__"
echo "$WANT" >"$STAMP"
echo "openai 2.x venv installed in $(($(date +%s) - start))s: $VENV"
