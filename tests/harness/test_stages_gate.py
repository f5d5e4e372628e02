"""A gate that breaks fails the run at that stage, and later stages do not run.

The e2e gate is broken on purpose by starting COS with a seam mutation (it
answers evidence with 201 instead of 202); the staged run must stop there,
show the stage failed in its table and exit non-zero.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_a_broken_gate_fails_the_run_at_its_stage(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.gates.stages",
            "--only",
            "e2e",
            "--only",
            "load",
            "--behave-arg=-Denv.SEAM_MUTATIONS=cos.evidence-201",
            "--behave-arg=--no-report",
            "--behave-arg=features/evidence_publish.feature",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "E2E_REPORTS_DIR": str(tmp_path)},
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    stages = json.loads((tmp_path / "stages.json").read_text())
    assert [s["name"] for s in stages] == ["e2e"], stages  # load never ran
    assert stages[0]["status"] == "failed" and stages[0]["failed"] > 0, stages
    assert "| e2e | failed |" in proc.stdout
    last = proc.stdout.strip().splitlines()[-1]
    assert last.endswith("failed") and not last.endswith(" 0 failed"), last
