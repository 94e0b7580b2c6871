#!/usr/bin/env bash
# The two commands of the README:
#   bash scripts/run.sh main   set up (if needed), then run the main job
#   bash scripts/run.sh test   set up (if needed), then run the test suite
# Extra arguments go to the job (e.g. `bash scripts/run.sh test -m slow`).
set -euo pipefail
cd "$(dirname "$0")/.."
job="${1:-}"
shift || true
case "$job" in
  main)
    bash scripts/setup.sh
    exec .venv/bin/similar reproduce "$@"
    ;;
  test)
    bash scripts/setup.sh
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: bash scripts/run.sh main|test [args...]" >&2
    exit 2
    ;;
esac
