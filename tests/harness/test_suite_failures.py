"""The suite can fail, and says why: real behave runs against misconfigured services.

Each test runs behave in a subprocess with the process backend and a test-only
setting passed to the services (`-D env.NAME=value`), then checks the scenario
failed with a message that names the broken promise — on the console and in
the Allure results a stakeholder would read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BEHAVE = str(Path(sys.executable).parent / "behave")

pytestmark = pytest.mark.slow


def run_behave(tmp_path: Path, *args: str) -> tuple[int, str, list[dict]]:
    results = tmp_path / "allure-results"
    proc = subprocess.run(
        [
            BEHAVE,
            "--no-capture",
            "--no-skipped",
            "-f",
            "allure_behave.formatter:AllureFormatter",
            "-o",
            str(results),
            "-f",
            "plain",
            "-D",
            f"reports_dir={tmp_path}",
            "-D",
            f"log_dir={tmp_path / 'logs'}",
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    found = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    return proc.returncode, proc.stdout + proc.stderr, found


def test_a_service_started_with_a_wrong_setting_fails_the_scenario_with_a_useful_message(tmp_path):
    code, output, results = run_behave(
        tmp_path,
        "-D",
        "env.SEAM_MUTATIONS=cos.authorize-field-renamed",
        "features/standalone_cold_start.feature",
    )
    assert code != 0, output
    failed = [r for r in results if r["status"] in ("failed", "broken")]
    assert failed, f"no failed scenario in the Allure results: {[r['status'] for r in results]}"
    message = failed[0]["statusDetails"]["message"]
    assert "allow" in message, message  # the renamed decision field is what broke
    names = {a["name"] for r in failed for a in r.get("attachments", [])}
    assert "cos log (tail)" in names, names  # service logs attached on failure
    assert "HTTP exchanges (secrets redacted)" in names, names


def test_a_breached_latency_budget_fails_the_scenario_naming_the_threshold(tmp_path):
    code, output, results = run_behave(
        tmp_path,
        "-D",
        "env.COS_TEST_LATENCY_MS=120",
        "tests/harness/features/load_budget_breach.feature",
    )
    assert code != 0, output
    assert "http_req_duration{kind:read" in output, output
    (result,) = results
    assert result["status"] == "failed"
    assert "http_req_duration{kind:read" in result["statusDetails"]["message"]
    breaches = json.loads((tmp_path / "load-results.json").read_text())[0]["breaches"]
    assert any("kind:read" in b for b in breaches), breaches


def test_the_passing_suite_redacts_secrets_from_the_report(tmp_path):
    code, output, results = run_behave(tmp_path, "features/credentials.feature", "--tags=@standalone")
    assert code == 0, output
    blob = "".join(p.read_text() for p in (tmp_path / "allure-results").glob("*-attachment*"))
    assert blob, "no attachments written"
    assert "qa-dev-password" not in blob
    assert "eyJ" not in blob  # no JWT survives redaction
