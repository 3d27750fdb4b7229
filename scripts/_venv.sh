# Sourced by scripts/demo.sh and scripts/test.sh: create .venv and install otelchain into it
# when it is missing or pyproject.toml changed since the last install.
# OTELCHAIN_EXTRAS picks the extras: "test,dev" (the default, for tests) or "" (runtime only, the demo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras="${OTELCHAIN_EXTRAS-test,dev}"
hash="$(sha256sum pyproject.toml | cut -d' ' -f1)"
stamp=".venv/.otelchain-installed"
installed="$(cat "$stamp" 2>/dev/null || true)"
# An install with the full extras also serves the runtime-only demo.
if [ "$installed" != "$hash-$extras" ] && { [ -n "$extras" ] || [ "$installed" != "$hash-test,dev" ]; }; then
  target="."
  [ -n "$extras" ] && target=".[$extras]"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e "$target"
  echo "$hash-$extras" > "$stamp"
fi
