#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (AddressSanitizer + UndefinedBehaviorSanitizer)
# and runs each for a bounded time over its seed corpus. Fails when any target crashes, leaks,
# hangs or runs out of memory; the input is kept in <build>/artifacts/<target>/ and belongs in
# fuzz/regressions/<target>/ with the fix (ctest replays that folder in every build).
#
#   scripts/fuzz.sh [--seconds N] [TARGET ...]   N seconds per target (default 30); all targets
#                                                 unless named (event body config clients strkey
#                                                 signature callback_client)
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz). New inputs the fuzzers find go to
# <build>/corpus/<target>/, never into the repository's seed corpus.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

seconds=30
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(event body config clients strkey signature callback_client)
fi

build="${FUZZ_BUILD_DIR:-build-fuzz}"
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DANCHOR_EVENTS_FUZZ=ON -DANCHOR_EVENTS_TESTS=OFF -DANCHOR_EVENTS_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzzers

failed=()
for target in "${targets[@]}"; do
  work="$build/corpus/$target" artifacts="$build/artifacts/$target" log="$build/logs/$target.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  # -timeout: one input may take at most 10 s; -rss_limit_mb: at most 2 GiB.
  if "$build/fuzz/${target}_fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts/" -print_final_stats=1 "$work" "fuzz/corpus/$target" \
      >"$log" 2>&1; then
    echo "fuzz: $target ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
      grep -o '[0-9]*$') runs in ${seconds} s)"
  else
    echo "fuzz: $target FAILED; log $log, input:"
    ls -1 "$artifacts"
    grep -E -m20 'ERROR|SUMMARY|runtime error|#[0-9]+ 0x' "$log" || tail -20 "$log"
    failed+=("$target")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets passed"
