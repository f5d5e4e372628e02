#!/usr/bin/env bash
# The README's test command: install, then run every gate in order.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
