#!/usr/bin/env bash
# The README's main command: install, run every feature in both modes on the
# process backend, build the Allure report, print its path and a summary line.
# Extra arguments go to behave (e.g. --tags=@integrated, -D backend=external).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh || exit 1
rm -rf reports/allure-results reports/logs
mkdir -p reports
.venv/bin/python -m harness.gates.run_suite "$@"
status=$?
exit $status
