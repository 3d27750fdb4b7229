#!/usr/bin/env bash
# Run the demo on a fresh machine: installs otelchain (runtime dependencies only) into .venv, then
# runs examples/demo.py. Exits non-zero if spans were to be exported and some were not.
set -euo pipefail
OTELCHAIN_EXTRAS="" source "$(dirname "$0")/_venv.sh"
exec .venv/bin/python examples/demo.py "$@"
