#!/usr/bin/env bash
# Measure scripts/demo.sh's first run as on a fresh machine: a copy of the checkout with no .venv,
# pip's cache off; prints the wall time, the packages installed and the venv's size.
#   bash benchmarks/demo_first_run.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
git -C "$ROOT" ls-files -z | (cd "$ROOT" && xargs -0 tar -cf -) | tar -xf - -C "$WORK"
cd "$WORK"
start=$(date +%s%N)
PIP_NO_CACHE_DIR=1 bash scripts/demo.sh > demo.out 2> demo.err
end=$(date +%s%N)
packages=$(.venv/bin/python -m pip list --format=freeze 2>/dev/null | grep -vc '^\(pip\|setuptools\|otelchain\)=')
echo "first run: $(( (end - start) / 1000000000 )) s wall (install + demo), $packages packages, $(du -sh .venv | cut -f1) venv"
grep -q "result: {'output': '256'}" demo.out && echo "demo output: ok"
