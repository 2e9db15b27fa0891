#!/usr/bin/env bash
# The packaging checks of CI (issue 4), on a Debian 12 machine as root:
#
#   scripts/check-packaging.sh            CRD and samples, helm lint, every rendering of the chart
#                                         validated strictly and asserted on, the rendered processor
#                                         accepted by the binary, alert and dashboard metrics
#                                         exported by a running processor, manifests/ not drifted
#   scripts/check-packaging.sh --update   first re-render manifests/ and copy crds/ into the chart
#   scripts/check-packaging.sh --image    also build the container image and run its binary from
#                                         the image's root filesystem
#                                         (scripts/build-image.sh --check)
#   scripts/check-packaging.sh --image-only   only the image
#
# The anchor-events binary: $ANCHOR_EVENTS_BINARY, else build/src/app/anchor-events when it
# exists, else one built here into build-packaging/. Tools (Helm, a Python venv, a small Go
# checker) are built or installed once into ${ANCHOR_EVENTS_CACHE:-~/.cache/anchor-events}.
# Exits non-zero when any check fails.
set -euo pipefail

# Go may be installed outside PATH (the Go distribution's default place).
command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
CACHE_DIR="${ANCHOR_EVENTS_CACHE:-$HOME/.cache/anchor-events}"

say() { echo "check-packaging: $*" >&2; }

update=()
chart=1
image=0
for arg in "$@"; do
  case "$arg" in
    --update) update=(--update) ;;
    --image) image=1 ;;
    --image-only) image=1 chart=0 ;;
    *) say "usage: $0 [--update] [--image|--image-only]"; exit 2 ;;
  esac
done

binary() {
  if [[ -n "${ANCHOR_EVENTS_BINARY:-}" ]]; then
    echo "$ANCHOR_EVENTS_BINARY"
  elif [[ -x build/src/app/anchor-events ]]; then
    echo "$root/build/src/app/anchor-events"
  else
    say "building anchor-events into build-packaging/"
    cmake -S . -B build-packaging -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DANCHOR_EVENTS_TESTS=OFF >/dev/null
    cmake --build build-packaging --target anchor-events >&2
    echo "$root/build-packaging/src/app/anchor-events"
  fi
}

# The Prometheus Operator strict decoder (tests/packaging/monitoringcheck), rebuilt when its
# sources change.
monitoringcheck() {
  local dir="$root/tests/packaging/monitoringcheck" hash out
  hash="$(cat "$dir/go.mod" "$dir/go.sum" "$dir/main.go" | sha256sum | cut -c1-16)"
  out="$CACHE_DIR/bin/monitoringcheck-$hash"
  if [[ ! -x "$out" ]]; then
    say "building tests/packaging/monitoringcheck through the Go module proxy (once)"
    mkdir -p "$CACHE_DIR/bin"
    (cd "$dir" && go build -o "$out.tmp" .) >&2
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

status=0
if ((chart)); then
  read -r helm python < <(scripts/packaging-env.sh)
  checker="$(monitoringcheck)"
  bin="$(binary)"
  "$python" tests/packaging/check_packaging.py --helm "$helm" --binary "$bin" \
    --monitoringcheck "$checker" "${update[@]}" || status=1
fi
if ((image)); then
  start=$(date +%s)
  if scripts/build-image.sh --check; then
    say "image: built and checked in $(($(date +%s) - start)) s"
  else
    say "image: FAILED after $(($(date +%s) - start)) s"
    status=1
  fi
fi
exit "$status"
