"""`--repeat N` (harness/gates/repeat.py): per-scenario pass rates from the reports each repetition leaves.

The stage is a stand-in that writes behave JSON the way run_suite does (first-run outcomes), so
the tally, the flaky/always-failing verdicts and the stale-file guard are checked on known data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.gates import repeat


@dataclass
class _StageResult:
    status: str
    seconds: float = 1.0


def _behave_json(path: Path, statuses: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    elements = [
        {
            "type": "scenario",
            "location": f"features/x.feature:{i}",
            "name": name,
            "status": status,
            "tags": [],
        }
        for i, (name, status) in enumerate(statuses.items(), start=1)
    ]
    path.write_text(json.dumps([{"tags": [], "elements": elements}]))


def test_pass_rates_name_the_flaky_and_the_always_failing(tmp_path: Path) -> None:
    runs = iter(
        [
            {"steady": "passed", "wobbly": "passed", "broken": "failed", "off": "skipped"},
            {"steady": "passed", "wobbly": "failed", "broken": "failed", "off": "skipped"},
            {"steady": "passed", "wobbly": "passed", "broken": "failed", "off": "skipped"},
        ]
    )

    def stage() -> _StageResult:
        statuses = next(runs)
        _behave_json(tmp_path / "behave.json", statuses)
        return _StageResult("failed" if "failed" in statuses.values() else "passed")

    result = repeat.repeat("e2e", stage, 3, tmp_path)
    tallies = {k.split(" ", 1)[1]: t for k, t in result.tallies.items()}
    assert (tallies["steady"].passed, tallies["wobbly"].passed, tallies["broken"].passed) == (3, 2, 0)
    assert "off" not in tallies, "skipped scenarios are not runs"
    assert [n.split(" ", 1)[1] for n in result.flaky] == ["wobbly"]
    assert [n.split(" ", 1)[1] for n in result.always_failing] == ["broken"]
    text = repeat.table(result)
    assert text.index("broken") < text.index("wobbly") < text.index("steady"), "least reliable first"
    assert "| 67% |" in text and "flaky (passed some runs, failed others): 1" in text
    md = repeat.write(result, tmp_path)
    assert md.name == "repeat-e2e.md" and json.loads((tmp_path / "repeat-e2e.json").read_text())["flaky"]


def test_a_repetition_that_writes_no_results_counts_as_a_failed_stage_not_the_last_results(
    tmp_path: Path,
) -> None:
    calls = iter([True, False])

    def stage() -> _StageResult:
        if next(calls):
            _behave_json(tmp_path / "behave.json", {"steady": "passed"})
            return _StageResult("passed")
        return _StageResult("failed")  # crashed before behave wrote anything

    result = repeat.repeat("e2e", stage, 2, tmp_path)
    assert result.tallies["stage e2e"].passed == 0 and result.tallies["stage e2e"].runs == 1
    assert next(t for k, t in result.tallies.items() if k.endswith("steady")).runs == 1
