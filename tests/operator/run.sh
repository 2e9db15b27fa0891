#!/usr/bin/env bash
# Runs the operator's tests with pytest in the project's Python venv (scripts/python-env.sh),
# against a real kube-apiserver + etcd that the tests start themselves (scripts/kube-local.sh on
# the suite's own ports, OPERATOR_TESTS_KUBE_PORT / OPERATOR_TESTS_ETCD_PORT, default 36643 /
# 32579, fresh etcd data) and stop at the end. The first start on a new machine builds the API
# server (15-25 min; CI can run `scripts/kube-local.sh build` first).
#   tests/operator/run.sh [pytest args...]     default: every test file in tests/operator
# Honours ANCHOR_EVENTS_BINARY and KAFKA_BOOTSTRAP (the tests with a processor need a broker;
# without it they start scripts/kafka-local.sh). Keeps the source tree clean.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="${ANCHOR_EVENTS_PYTHON:-$("$root/scripts/python-env.sh")}"

# The clients document is YAML: PyYAML (PyPI) in the same venv, installed once.
if ! "$py" -c 'import yaml' 2>/dev/null; then
  cache="${ANCHOR_EVENTS_CACHE:-$HOME/.cache/anchor-events}"
  mkdir -p "$cache"
  (
    flock -w 300 9 || { echo "operator tests: could not lock $cache/.venv.lock" >&2; exit 1; }
    "$py" -c 'import yaml' 2>/dev/null || "$py" -m pip install -q 'PyYAML>=6' >&2
  ) 9>"$cache/.venv.lock"
fi

kube_port="${OPERATOR_TESTS_KUBE_PORT:-36643}"
etcd_port="${OPERATOR_TESTS_ETCD_PORT:-32579}"
# The tests stop the API server themselves; this catches a pytest that was killed.
cleanup() {
  env -u KUBE_LOCAL_STATE_DIR KUBE_LOCAL_PORT="$kube_port" KUBE_LOCAL_ETCD_PORT="$etcd_port" \
    "$root/scripts/kube-local.sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

export PYTHONDONTWRITEBYTECODE=1
if [[ $# -eq 0 ]]; then
  set -- -q "$here"
fi
cd "$here"
"$py" -m pytest -p no:cacheprovider "$@"
