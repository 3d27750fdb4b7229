#!/usr/bin/env bash
# Run the demo on a fresh machine: installs otelchain into .venv, then runs examples/demo.py.
set -euo pipefail
OTELCHAIN_EXTRAS=test,dev source "$(dirname "$0")/_venv.sh"
exec .venv/bin/python examples/demo.py "$@"
