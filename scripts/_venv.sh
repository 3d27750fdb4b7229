# Sourced by scripts/demo.sh and scripts/test.sh: create .venv and install otelchain into it
# when it is missing or pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.otelchain-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)-${OTELCHAIN_EXTRAS:-test,dev}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[${OTELCHAIN_EXTRAS:-test,dev}]"
  echo "$want" > "$stamp"
fi
