"""The Allure report as a person sees it: opened from disk in headless Chromium.

Two "stages" of a tiny real behave suite (tests/report/demo_suite: one stage 2 green, the
other 2 green + 1 red with an attachment) run through `python -m harness.gates.run_suite` the
way harness/gates/stages.py runs them (E2E_REPORT=0, one shared results folder), then the one
report of the run is built by the same function `make test` uses. Chromium opens it as
file:// (no server: the old multi-file report showed a spinner forever there) and we read
the rendered text: every scenario of both stages counted, the failure's error message, and
its attachment. Skipped only when Chromium or Allure is absent and never installed here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from harness.kit import browser, debian_tools  # noqa: E402

SUITE = "tests/report/demo_suite/features"
ERROR = "the receipt never arrived (demo failure 4711)"
ATTACHMENT = "evidence-of-the-failure"

pytestmark = pytest.mark.slow


def _python(reports: Path, *argv: str) -> subprocess.CompletedProcess:
    """`python <argv>` from the repo, writing under `reports`, stage-style (no per-run report)."""
    return subprocess.run(
        [sys.executable, *argv],
        cwd=REPO,
        env={**os.environ, "E2E_REPORTS_DIR": str(reports), "E2E_REPORT": "0"},
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    if reason := debian_tools.skip_reason("chromium"):
        pytest.skip(reason)
    if not (REPO / "node_modules" / ".bin" / "allure").exists():
        pytest.skip("Allure (npm) not installed: run scripts/bootstrap.sh")
    reports = tmp_path_factory.mktemp("reports")
    for feature in ("report_demo_green.feature", "report_demo.feature"):  # two stages, one results folder
        proc = _python(reports, "-m", "harness.gates.run_suite", "--no-rerun", f"{SUITE}/{feature}")
        assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        assert "report: " not in proc.stdout, "a stage built its own report"
    build = (
        "from harness.gates import stages; "
        "print(stages.generate_report([stages.REPORTS / d for d in stages.ALLURE_RESULTS]))"
    )
    proc = _python(reports, "-c", build)
    index = Path(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else None
    assert index and index.exists(), proc.stdout + proc.stderr
    return index


def test_the_report_is_one_file_beside_allure_summaries(report):
    assert report == report.parent / "index.html"
    assert sorted(p.name for p in report.parent.iterdir()) == [
        "index.html",
        "summary.json",
        "test-results.json",
    ]


def test_opened_from_disk_it_shows_every_scenario_of_both_stages(report):
    text = browser.page_text(report.as_uri(), ready=lambda t: "Total" in t)
    assert "Total 5" in text, text[:2000]
    assert "Passed 4" in text and "Failed 1" in text, text[:2000]
    # the tree: each feature with its counts per status (passed only: "2"; failed, passed: "1 2")
    assert "Report demo, another stage 2" in text and "Report demo 1 2" in text, text[:2000]
    assert "Red one" in text, text[:2000]


def _failed_id(report: Path) -> str:
    results = json.loads((report.parent / "test-results.json").read_text())["byId"]
    failed = [r for r in results.values() if r["status"] == "failed"]
    assert [r["name"] for r in failed] == ["Red one"], results
    return failed[0]["id"]


def test_the_failed_scenario_shows_its_error(report):
    text = browser.page_text(f"{report.as_uri()}#{_failed_id(report)}", ready=lambda t: "Red one" in t)
    assert "Red one Failed" in text, text[:2000]
    assert f"AssertionError: {ERROR}" in text, text[:2000]


def test_the_failed_scenario_shows_its_attachment(report):
    text = browser.page_text(
        f"{report.as_uri()}#{_failed_id(report)}/attachments", ready=lambda t: "Attachments" in t
    )
    assert "Attachments 1" in text, text[:2000]
    assert f"{ATTACHMENT} text/plain" in text, text[:2000]


def test_the_demo_run_writes_metrics_promtool_accepts(report):
    if reason := debian_tools.skip_reason("promtool"):
        pytest.skip(reason)
    metrics = report.parent.parent / "metrics.prom"
    proc = debian_tools.run("promtool", "check", "metrics", stdin=metrics.read_text())
    assert proc.returncode == 0, proc.stdout + proc.stderr
