"""The Pact contract gates as the acceptance suite sees them (features/contracts.feature).

One function per gate, each returning `contracts.gate.StepResult` (verdict, seconds, report),
so the Allure report shows contract status beside the E2E scenarios with the same text the
CLI prints. The gates start their own providers (subprocesses on loopback ports); they need
no environment from the harness, so their scenarios carry no mode tag.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from contracts import COS, MC, gate
from contracts.gate import StepResult
from harness.env import report


def committed_pacts_reproduced() -> StepResult:
    """Consumer tests regenerate every pact; the committed pacts must be reproduced exactly."""
    return gate.consumers_and_drift()


def mc_honours_pacts() -> StepResult:
    """MC verified against every committed pact it is the provider of (COS's)."""
    return gate.provider_verification(MC)


def cos_honours_pacts() -> StepResult:
    """COS verified against the pacts of MC and of the client SDK."""
    return gate.provider_verification(COS)


def pacts_hold_no_secrets() -> StepResult:
    return gate.secrets_scrub()


def seam_mutations_caught() -> StepResult:
    """Every mutation in docs/mutations.md makes its provider's verification fail."""
    return gate.mutation_proof()


def record(result: StepResult, reports_dir: Path | None = None) -> Path:
    """Merge this gate's verdict into reports/contract-results.json (read by the metrics export)."""
    reports = reports_dir or Path(
        os.environ.get("E2E_REPORTS_DIR", Path(__file__).resolve().parents[2] / "reports")
    )
    path = reports / "contract-results.json"
    data = json.loads(path.read_text()) if path.exists() else {"steps": []}
    steps = [s for s in data.get("steps", []) if s.get("step") != result.name]
    steps.append({"step": result.name, "ok": result.ok, "seconds": round(result.seconds, 1)})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"failures": sum(1 for s in steps if not s["ok"]), "steps": steps}, indent=2))
    return path


def expect_passed(result: StepResult) -> None:
    """Attach the gate's report to the current step, record the verdict, then assert it passed."""
    report.attach_text(f"{result.name} ({result.seconds:.1f}s)", result.report)
    record(result)
    assert result.ok, f"{result.name} failed after {result.seconds:.1f}s:\n{result.report[-8000:]}"
