#!/usr/bin/env bash
# Creates (once) the tools the packaging checks run with, outside the repository, and prints
# "HELM PYTHON" on stdout (progress goes to stderr):
#
#   helm    scripts/helm.sh (helm.sh/helm/v3, built through the Go module proxy)
#   python  ${ANCHOR_EVENTS_CACHE:-~/.cache/anchor-events}/venv-packaging/bin/python with
#           kubernetes-validate (Kubernetes' own OpenAPI schemas, bundled), jsonschema (CRD
#           samples against the CRD's schema), cel-python (the CRD's CEL rules), promql-parser
#           (the alerts' and dashboard's queries) and PyYAML
#
# ANCHOR_EVENTS_VENV_REBUILD=1 forces a fresh venv.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
CACHE_DIR="${ANCHOR_EVENTS_CACHE:-$HOME/.cache/anchor-events}"
VENV="$CACHE_DIR/venv-packaging"
PY="$VENV/bin/python"
PACKAGES=("kubernetes-validate==1.37.0" "jsonschema>=4.20" "cel-python==0.5.0"
  "promql-parser==0.11.0" "PyYAML>=6")

say() { echo "packaging-env: $*" >&2; }

ready() {
  [[ -x "$PY" ]] && "$PY" - <<'EOF' >/dev/null 2>&1
import celpy  # noqa: F401
import jsonschema  # noqa: F401
import kubernetes_validate  # noqa: F401
import promql_parser  # noqa: F401
import yaml  # noqa: F401
EOF
}

mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.venv-packaging.lock"
flock -w 600 9 || { say "could not lock $CACHE_DIR/.venv-packaging.lock"; exit 1; }

if [[ "${ANCHOR_EVENTS_VENV_REBUILD:-0}" == "1" ]]; then
  rm -rf "$VENV"
fi
if ! ready; then
  if [[ ! -x "$PY" ]] || ! "$PY" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$VENV"
    base_python="${PYTHON:-$(command -v python3 || true)}"
    [[ -n "$base_python" ]] || { say "python3 not found"; exit 1; }
    say "creating $VENV with $base_python"
    "$base_python" -m venv "$VENV" >&2
  fi
  say "installing ${PACKAGES[*]}"
  "$PY" -m pip install --disable-pip-version-check -q "${PACKAGES[@]}" >&2
  ready || { say "venv at $VENV is still missing a package"; exit 1; }
fi
exec 9>&-

helm="$("$root/scripts/helm.sh" --path)"
echo "$helm $PY"
