#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: installs what it needs, lints, type-checks, tests.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/callbacks -x).
set -euo pipefail
source "$(dirname "$0")/_venv.sh"
if [ -f scripts/setup_phoenix.sh ]; then
  bash scripts/setup_phoenix.sh   # the real trace backend for tests/export, in its own venv
fi
bash scripts/setup_openai2.sh     # the openai 2.x (httpx) client generation, in its own venv
bash scripts/build_backends.sh    # the Collector and Jaeger v2 for tests/export: built once per machine, then cached
.venv/bin/ruff check src tests examples benchmarks
.venv/bin/mypy src
exec .venv/bin/python -m pytest "$@"
