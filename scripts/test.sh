#!/usr/bin/env bash
# The README's test command: install, then run every gate in order
# (harness/gates/stages.py prints the stage table and the `N passed, N failed` line).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m harness.gates.stages "$@"
