#!/usr/bin/env bash
# Runs the end-to-end tests with pytest in the project's Python venv (scripts/python-env.sh).
#   tests/e2e/run.sh [pytest args...]     default: every test file in tests/e2e
# Keeps the source tree clean: no .pytest_cache, no __pycache__.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$("$here/../../scripts/python-env.sh")"
export PYTHONDONTWRITEBYTECODE=1
if [[ $# -eq 0 ]]; then
  set -- -q "$here"
fi
cd "$here"
exec "$py" -m pytest -p no:cacheprovider "$@"
