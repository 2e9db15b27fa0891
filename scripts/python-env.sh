#!/usr/bin/env bash
# Creates (once) the Python virtual environment the end-to-end tests and their independent
# checkers run in, and prints the path of its python on stdout (progress goes to stderr).
#
#   venv: ${ANCHOR_EVENTS_CACHE:-$HOME/.cache/anchor-events}/venv
#   packages (PyPI): cryptography (Ed25519), PyJWT (HS256), standardwebhooks (webhook-signature
#   v1), PyYAML (the operator tests read rendered clients files), pytest
#
# Environment: PYTHON selects the interpreter the venv is made from (default: python3 on PATH).
# A venv that no longer runs or lacks a package is repaired; ANCHOR_EVENTS_VENV_REBUILD=1 forces a
# fresh one.
set -euo pipefail

CACHE_DIR="${ANCHOR_EVENTS_CACHE:-$HOME/.cache/anchor-events}"
VENV="$CACHE_DIR/venv"
PY="$VENV/bin/python"
PACKAGES=("cryptography>=41" "PyJWT>=2.8" "standardwebhooks>=1.0" "PyYAML>=6" "pytest>=7")

say() { echo "python-env: $*" >&2; }

base_python="${PYTHON:-}"
if [[ -z "$base_python" ]]; then
  base_python="$(command -v python3 || true)"
fi
[[ -n "$base_python" ]] || { say "python3 not found (scripts/install-deps.sh installs it)"; exit 1; }

ready() {
  [[ -x "$PY" ]] && "$PY" - <<'EOF' >/dev/null 2>&1
import cryptography.hazmat.primitives.asymmetric.ed25519  # noqa: F401
import jwt  # noqa: F401
import standardwebhooks  # noqa: F401
import yaml  # noqa: F401
import pytest  # noqa: F401
EOF
}

mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.venv.lock"
flock -w 300 9 || { say "could not lock $CACHE_DIR/.venv.lock"; exit 1; }

if [[ "${ANCHOR_EVENTS_VENV_REBUILD:-0}" == "1" ]]; then
  rm -rf "$VENV"
fi

if ! ready; then
  if [[ ! -x "$PY" ]] || ! "$PY" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$VENV"
    say "creating $VENV with $base_python"
    "$base_python" -m venv "$VENV" >&2
  fi
  say "installing ${PACKAGES[*]}"
  "$PY" -m pip install --disable-pip-version-check -q "${PACKAGES[@]}" >&2
  ready || { say "venv at $VENV is still missing a package"; exit 1; }
fi

echo "$PY"
