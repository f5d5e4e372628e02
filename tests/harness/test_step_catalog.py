"""The handbook's list of step phrases is generated from steps/ and must be current."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_handbook_lists_exactly_the_step_phrases_in_the_code():
    proc = subprocess.run(
        [sys.executable, "-m", "harness.gates.step_catalog", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
