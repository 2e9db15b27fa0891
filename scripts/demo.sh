#!/usr/bin/env bash
# Installs the dependencies, builds anchor-events and runs `anchor-events demo`: an embedded
# Kafka broker, the processor, a business server and two wallets on loopback, and the sample
# events of examples/events. Exits 0 when every callback arrived, verified, at the right place.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [[ "${SKIP_DEPS:-0}" != "1" ]]; then
  scripts/install-deps.sh
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target anchor-events
exec build/src/app/anchor-events demo
