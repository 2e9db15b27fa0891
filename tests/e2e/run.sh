#!/usr/bin/env bash
# Runs the end-to-end tests with pytest in the project's Python venv (scripts/python-env.sh).
#   tests/e2e/run.sh [pytest args...]     default: every test file in tests/e2e
# Honours KAFKA_BOOTSTRAP (an already running broker) and ANCHOR_EVENTS_BINARY.
# Keeps the source tree clean: no .pytest_cache, no __pycache__.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# ANCHOR_EVENTS_PYTHON (scripts/test.sh exports it) skips the venv check.
py="${ANCHOR_EVENTS_PYTHON:-$("$here/../../scripts/python-env.sh")}"
export PYTHONDONTWRITEBYTECODE=1
if [[ $# -eq 0 ]]; then
  set -- -q "$here"
fi
cd "$here"
exec "$py" -m pytest -p no:cacheprovider "$@"
