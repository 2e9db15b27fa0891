#!/usr/bin/env bash
# Runs the reliability suite with pytest in the project's Python venv (scripts/python-env.sh),
# like tests/e2e/run.sh; paths are relative to this directory.
#   tests/reliability/run.sh [pytest args...]     default: every scenario (-x -q -s)
# Honours KAFKA_BOOTSTRAP, ANCHOR_EVENTS_BINARY and ANCHOR_EVENTS_RELIABILITY_RESULTS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${ANCHOR_EVENTS_PYTHON:-$("$here/../../scripts/python-env.sh")}"
export PYTHONDONTWRITEBYTECODE=1
if [[ $# -eq 0 ]]; then
  set -- -x -q -s "$here"
fi
cd "$here"
exec "$py" -m pytest -p no:cacheprovider "$@"
