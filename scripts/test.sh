#!/usr/bin/env bash
# Builds anchor-events and runs every test on a fresh Debian 12 machine (as root):
#   1. installs the Debian packages (skip with SKIP_DEPS=1),
#   2. builds with warnings as errors and runs the unit tests,
#   3. starts a real Kafka broker (scripts/kafka-local.sh) and runs the end-to-end tests,
#   4. builds again with AddressSanitizer + UndefinedBehaviorSanitizer and runs the unit tests.
# Set TEST_LABELS to a ctest label regex (e.g. "unit") to run only those tests in step 2-3.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [[ "${SKIP_DEPS:-0}" != "1" ]]; then
  scripts/install-deps.sh
fi

jobs="$(nproc)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

export ANCHOR_EVENTS_PYTHON="$(scripts/python-env.sh)"
if [[ -z "${KAFKA_BOOTSTRAP:-}" ]]; then
  KAFKA_BOOTSTRAP="$(scripts/kafka-local.sh start)"
  export KAFKA_BOOTSTRAP
  trap 'scripts/kafka-local.sh stop || true' EXIT
fi
echo "test: Kafka broker at $KAFKA_BOOTSTRAP"

ctest --test-dir build --output-on-failure -j1 ${TEST_LABELS:+-L "$TEST_LABELS"}

if [[ "${SKIP_SANITIZERS:-0}" != "1" ]]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DANCHOR_EVENTS_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j1 -L "unit|demo|faults"
fi
