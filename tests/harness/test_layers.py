"""The harness's layers hold (pyproject.toml [tool.importlinter], docs/architecture.md), and the
check can fail: a deliberate upward import and a deliberate cycle, each in a copy of the
package, break the contract that forbids them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINT = str(Path(sys.executable).parent / "lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT, "--no-cache", str(root / "pyproject.toml")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_the_harness(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "harness", tmp_path / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_layers_are_kept():
    proc = lint(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout, proc.stdout


def test_an_upward_import_breaks_the_layers(tmp_path):
    root = copy_of_the_harness(tmp_path)
    ports = root / "harness" / "kit" / "ports.py"
    ports.write_text(ports.read_text() + "\nfrom harness.gates import stages  # upward on purpose\n")
    proc = lint(root)
    assert proc.returncode != 0, proc.stdout
    assert "harness.kit.ports -> harness.gates.stages" in proc.stdout, proc.stdout
    assert "never upward BROKEN" in proc.stdout, proc.stdout


def test_a_cycle_inside_a_layer_breaks_the_no_cycles_contract(tmp_path):
    root = copy_of_the_harness(tmp_path)
    report = root / "harness" / "env" / "report.py"
    report.write_text(report.read_text() + "\nfrom harness.env import session  # a cycle on purpose\n")
    proc = lint(root)
    assert proc.returncode != 0, proc.stdout
    assert "no import cycles" in proc.stdout and "BROKEN" in proc.stdout, proc.stdout
