#!/usr/bin/env bash
# Create .venv at the repo root and install everything the commands need.
# Idempotent and quick when nothing changed: a stamp keyed on the hash of
# requirements.txt (and package.json for npm) skips reinstalling.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$candidate"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "bootstrap: Python >= 3.11 is required" >&2; exit 1; }

req_hash="$(sha256sum requirements.txt | cut -c1-16)"
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.requirements-stamp 2>/dev/null)" != "$req_hash" ]; then
  echo "bootstrap: installing Python packages into .venv ($PY)"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$req_hash" > .venv/.requirements-stamp
fi

if [ "${BOOTSTRAP_NPM:-1}" = "1" ] && [ -f package.json ]; then
  npm_hash="$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-16)"
  if [ ! -d node_modules ] || [ "$(cat node_modules/.stamp 2>/dev/null)" != "$npm_hash" ]; then
    command -v npm >/dev/null || { echo "bootstrap: npm (Node.js >= 20) is required for the Allure report" >&2; exit 1; }
    echo "bootstrap: installing npm packages under node_modules/"
    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
    echo "$npm_hash" > node_modules/.stamp
  fi
fi

# Debian's chromium and Prometheus tools (report browser test, observability stage, promtool checks).
if [ "${BOOTSTRAP_DEBIAN:-1}" = "1" ]; then
  bash scripts/install-debian-tools.sh
fi
