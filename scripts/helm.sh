#!/usr/bin/env bash
# Runs Helm, building it on first use through the Go module proxy into a cache outside the
# repository (Helm is not a Debian package).
#
#   scripts/helm.sh ARGS...     exec helm ARGS...
#   scripts/helm.sh --path      print the path of the helm binary
#
#   binary: ${ANCHOR_EVENTS_CACHE:-~/.cache/anchor-events}/bin/helm-<version>
set -euo pipefail

# Go may be installed outside PATH (the Go distribution's default place).
command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"

HELM_VERSION=v3.21.4
CACHE_DIR="${ANCHOR_EVENTS_CACHE:-$HOME/.cache/anchor-events}"
BIN_DIR="$CACHE_DIR/bin"
HELM="$BIN_DIR/helm-$HELM_VERSION"

say() { echo "helm.sh: $*" >&2; }

# A helm built by `go install` reports only its minor version, so the file name carries the
# exact one.
installed() { [[ -x "$HELM" ]] && "$HELM" version >/dev/null 2>&1; }

if ! installed; then
  mkdir -p "$BIN_DIR"
  exec 9>"$BIN_DIR/.helm.lock"
  flock -w 900 9 || { say "could not lock $BIN_DIR/.helm.lock"; exit 1; }
  if ! installed; then
    command -v go >/dev/null || { say "go is needed to build helm (Debian: golang-go)"; exit 1; }
    say "building helm $HELM_VERSION through the Go module proxy (once, a few minutes)"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && GOBIN="$work" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") >&2
    mv "$work/helm" "$HELM"
  fi
  exec 9>&-
fi

if [[ "${1:-}" == "--path" ]]; then
  echo "$HELM"
  exit 0
fi
exec "$HELM" "$@"
