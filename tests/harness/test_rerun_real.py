"""The rerun of failed scenarios, on the real runner: `python -m harness.gates.run_suite` → real behave.

A scenario that fails on its first attempt only must be rerun by location and
reported flaky (summary, console, Allure, metrics); one that fails on both
attempts must fail the run. An earlier version resolved the rerun file's paths
against reports/ and crashed before rerunning anything — only a real run shows that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FEATURE = "tests/harness/rerun_suite/features/rerun_demo.feature"
WOBBLY = f"{FEATURE}:9 Wobbly"
BROKEN = f"{FEATURE}:12 Broken"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    reports = tmp_path_factory.mktemp("reports")
    flip = tmp_path_factory.mktemp("flip")
    proc = subprocess.run(
        [sys.executable, "-m", "harness.gates.run_suite", "--no-report", "-D", f"flip_dir={flip}", FEATURE],
        cwd=REPO,
        env={**os.environ, "E2E_REPORTS_DIR": str(reports)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc, reports


def test_the_rerun_happens_and_a_twice_failing_scenario_fails_the_run(run):
    proc, reports = run
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output
    assert proc.returncode == 1, output
    summary = json.loads((reports / "suite-summary.json").read_text())
    assert summary["failed_scenarios"] == [BROKEN], summary
    assert summary["flaky"] == [WOBBLY], summary
    assert summary["rerun"] == {"scenarios": 2, "passed": 1, "failed": 1}, summary
    assert f"FAILED  {BROKEN}" in output
    assert f"FLAKY   {WOBBLY} (passed only on rerun)" in output
    assert output.rstrip().splitlines()[-1] == "2 passed, 1 failed", output


def test_the_flaky_scenario_is_marked_flaky_in_the_allure_results(run):
    _, reports = run
    results = [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]
    wobbly = [r for r in results if r["name"] == "Wobbly"]
    assert sorted(r["status"] for r in wobbly) == ["failed", "passed"], wobbly
    final = next(r for r in wobbly if r["status"] == "passed")
    assert final["statusDetails"]["flaky"] is True, final
    broken = [r for r in results if r["name"] == "Broken"]
    assert [r["status"] for r in broken] == ["failed", "failed"], broken
    assert not any(r.get("statusDetails", {}).get("flaky") for r in broken), broken


def test_the_flaky_count_reaches_the_metrics(run):
    _, reports = run
    metrics = (reports / "metrics.prom").read_text()
    flaky_lines = [ln for ln in metrics.splitlines() if ln.startswith("flaky_scenarios{")]
    assert flaky_lines and all(ln.endswith(" 1.0") or ln.endswith(" 1") for ln in flaky_lines), flaky_lines
