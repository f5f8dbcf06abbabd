#!/usr/bin/env bash
# Runs the test suite RUNS times in a shuffled order while stress-ng keeps every core
# busy: the way to find tests that race the code they test (a wait that is really a
# sleep, a read before the write it expects). Each run prints its seed; repeat a
# failing order with `.venv/bin/pytest -p randomly --randomly-seed=SEED`.
# Usage: test-under-load.sh [RUNS] [pytest args...]
set -uo pipefail
cd "$(dirname "$0")/.."

runs="${1:-3}"
shift || true
stress-ng --cpu "$(nproc)" --timeout 3h --quiet &
stress=$!
trap 'kill "$stress" 2>/dev/null' EXIT

failed=0
for run in $(seq 1 "$runs"); do
  seed="$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"
  echo "== run $run of $runs under load, -p randomly --randomly-seed=$seed"
  if ! .venv/bin/pytest -q -p randomly --randomly-seed="$seed" "$@"; then
    echo "== run $run FAILED: repeat with: .venv/bin/pytest -p randomly --randomly-seed=$seed"
    failed=1
  fi
done
exit "$failed"
