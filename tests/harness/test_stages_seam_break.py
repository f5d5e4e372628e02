"""A provider that breaks the seam makes the first stage of `make test` fail, within seconds.

A copy of the checkout gets a real break in MC's code (the evidence response's `evidence_id`
renamed — what COS's pact relies on), then the gate runs as `make test` would, limited to its first
two stages: the contracts stage must fail on MC's verification, say so at once, and stop the run
before the unit stage (issue 16: first red on a seam break ≤ 60 s after `make test` starts).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MC_EVIDENCE = Path("conductor") / "evidence_api.py"
INTACT = """            response = {
                "evidence_id": record.evidence_id,"""
BROKEN = """            response = {
                "id": record.evidence_id,"""
FIRST_RED_BUDGET_S = 60

pytestmark = pytest.mark.slow


def checkout_copy(dest: Path) -> Path:
    """The work tree's files (tracked, and new ones git does not ignore), sharing this checkout's venv."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    (dest / ".venv").symlink_to(REPO / ".venv")
    return dest


def test_a_provider_breaking_a_pact_fails_the_first_stage_before_unit_runs(tmp_path):
    copy = checkout_copy(tmp_path / "repo")
    source = copy / MC_EVIDENCE
    text = source.read_text()
    assert text.count(INTACT) == 1, f"{MC_EVIDENCE} changed: update the seeded break in this test"
    source.write_text(text.replace(INTACT, BROKEN))
    reports = tmp_path / "reports"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "harness.gates.stages", "--only", "contracts", "--only", "unit"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "E2E_REPORTS_DIR": str(reports)},
    )
    took = time.monotonic() - started
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-4000:]
    stages = json.loads((reports / "stages.json").read_text())
    assert [(s["name"], s["status"]) for s in stages] == [("contracts", "failed")], stages  # unit never ran
    assert "=== stage contracts: FAILED" in proc.stdout, out[-4000:]
    assert "stopping: unit skipped" in proc.stdout, out[-4000:]
    log = (reports / "stages" / "contracts.log").read_text()
    assert "MC keeps every promise COS relies on" in log, log[-3000:]
    verdicts = (reports / "behave.json").read_text()  # the failed step's message, as the report shows it
    assert "a first publish of evidence" in verdicts and "missing the following keys: evidence_id" in verdicts
    assert took < FIRST_RED_BUDGET_S, f"first red after {took:.0f}s"
