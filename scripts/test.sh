#!/usr/bin/env bash
# Run the test suite on a fresh machine: installs what it needs, then lints, type-checks and tests.
#   scripts/test.sh                      # everything: ruff, mypy --strict, the whole suite (what CI runs)
#   scripts/test.sh tests/callbacks -x   # those tests only: no linters, and only what they need prepared
# Extra arguments go to pytest. The whole suite also prepares, once per machine: the Phoenix venv for
# tests/export (1-2 minutes), the openai 2.x venv for tests/integrations (under a minute) and the
# Collector and Jaeger built from their Go modules (minutes; without Go those tests are skipped).
set -euo pipefail
source "$(dirname "$0")/_venv.sh"   # creates .venv if needed; the working directory is the repository

under_ci() { [[ "$(echo "${CI:-}" | tr '[:upper:]' '[:lower:]')" =~ ^(1|true|yes)$ ]]; }

# The test paths among the arguments (a path that exists, `::test` ids included), relative to the
# repository; the values of pytest's options that take one are not paths to run.
targets=()
skip_next=false
for arg in "$@"; do
  if $skip_next; then skip_next=false; continue; fi
  case "$arg" in
    -k|-m|-p|-c|-o|-W|--ignore|--ignore-glob|--deselect|--rootdir|--confcutdir|--basetemp|--junitxml|--log-file)
      skip_next=true; continue ;;
    -*) continue ;;
  esac
  path="${arg%%::*}"
  if [[ -e "$path" ]]; then
    targets+=("$(realpath -m --relative-to=. "$path")")
  fi
done

# Whether the run reaches $1 (a folder or file of the repository): the whole suite, a path inside it,
# or a path holding it.
reaches() {
  ((${#targets[@]} == 0)) && return 0
  local target
  for target in "${targets[@]}"; do
    if [[ "$target" == . || "$target" == "$1" || "$target/" == "$1"/* || "$1/" == "$target"/* ]]; then
      return 0
    fi
  done
  return 1
}

if under_ci || reaches tests/export; then
  bash scripts/setup_phoenix.sh   # the real trace backend for tests/export, in its own venv
  if under_ci; then
    bash scripts/build_backends.sh  # the Collector and Jaeger v2: built once per machine, then cached
  else
    bash scripts/build_backends.sh --unless-no-go  # without Go: says the tests using them will skip
  fi
fi
if under_ci || reaches tests/integrations/test_client_generations.py; then
  bash scripts/setup_openai2.sh   # the openai 2.x (httpx) client generation, in its own venv
fi
if ((${#targets[@]} == 0)); then
  .venv/bin/ruff check src tests examples benchmarks
  .venv/bin/mypy src
fi
exec .venv/bin/python -m pytest "$@"
