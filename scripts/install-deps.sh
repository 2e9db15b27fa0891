#!/usr/bin/env bash
# Installs what building, testing and running anchor-events needs on Debian 12, as root.
# Product dependencies come from Debian; test tools (a Kafka broker, Python checkers) are
# fetched into a cache outside the repository by their own scripts.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang-format
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer and clang's sanitizer runtimes
  librdkafka-dev libcpprest-dev libyaml-cpp-dev prometheus-cpp-dev libspdlog-dev libssl-dev
  libsodium-dev
  libgtest-dev libgmock-dev libcurl4-openssl-dev rapidjson-dev
  kcat curl python3 python3-venv openjdk-17-jre-headless maven
)

if [[ "${1:-}" != "--no-update" ]]; then
  apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" \
  >/dev/null
echo "install-deps: installed ${#packages[@]} packages"
