#!/usr/bin/env bash
# Builds anchor-events and runs every test on a fresh Debian 12 machine (as root):
#   1. installs the Debian packages (skip with SKIP_DEPS=1),
#   2. builds with warnings as errors and runs the unit tests,
#   3. starts a real Kafka broker (scripts/kafka-local.sh) and runs the end-to-end tests,
#   4. builds again with AddressSanitizer + UndefinedBehaviorSanitizer and runs the unit tests
#      (skip with SKIP_SANITIZERS=1),
#   5. builds the delivery engine's tests with ThreadSanitizer and runs them (SKIP_TSAN=1),
#   6. runs every fuzz target for 20 s (scripts/fuzz.sh; FUZZ_SECONDS, SKIP_FUZZ=1).
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

# The operator tests (label operator) start a real kube-apiserver + etcd; build them into the
# cache first (once; 15-25 min on a new machine) so no test's timeout absorbs the build.
if [[ "${SKIP_KUBE_BUILD:-0}" != "1" ]]; then
  scripts/kube-local.sh build
fi

ctest --test-dir build --output-on-failure -j1 ${TEST_LABELS:+-L "$TEST_LABELS"}

if [[ "${SKIP_SANITIZERS:-0}" != "1" ]]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DANCHOR_EVENTS_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j1 -L "unit|demo|faults"
fi

if [[ "${SKIP_TSAN:-0}" != "1" ]]; then
  # The delivery engine's threads: lanes, key scheduler, HTTP sender, Kafka consumer and commits.
  tsan_tests=(delivery_test kafka_test broker_fault_test)
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANCHOR_EVENTS_TSAN=ON \
    -DANCHOR_EVENTS_BENCH=OFF >/dev/null
  cmake --build build-tsan -j"$jobs" --target "${tsan_tests[@]}"
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/tests/tsan.supp" \
    ctest --test-dir build-tsan --output-on-failure -j1 \
    -R "^($(IFS='|'; echo "${tsan_tests[*]}"))\$"
fi

if [[ "${SKIP_FUZZ:-0}" != "1" ]]; then
  scripts/fuzz.sh --seconds "${FUZZ_SECONDS:-20}"
fi
