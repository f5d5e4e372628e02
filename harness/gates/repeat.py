"""`python -m harness.gates.stages --repeat N --only STAGE`: how often each scenario passes (issue 12 §4).

A stage run once says green or red; run N times it says which scenarios are flaky. Each
repetition is the stage exactly as `make test` runs it; after each one the scenarios' *first-run*
outcomes are read from the reports the stage leaves (behave's JSON before any rerun — a scenario
that only passes on the rerun is a failure here, which is the point). The table lists every
scenario with its runs, passes and pass rate, least reliable first, and is written to
`reports/repeat-<stage>.md` (and `.json`).

Sources per stage: behave stages → `reports/behave.json` (the faults stage also
`reports/external/behave.json`, its external-backend recipe); the mutations stage →
`reports/mutations-behaviour/proof.json` (a mutation "passes" when it was caught); other stages
(unit, compose) are counted as one row for the whole stage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.records.outcomes import scenario_results

BEHAVE_SOURCES: dict[str, list[str]] = {
    "contracts": ["behave.json"],
    "e2e": ["behave.json"],
    "faults": ["behave.json", "external/behave.json"],
    "load": ["behave.json"],
    "mutations": ["behave.json"],  # the contract mutation proof's scenario (then the behavioural proof.json)
}
MUTATION_PROOF = "mutations-behaviour/proof.json"


@dataclass
class Tally:
    runs: int = 0
    passed: int = 0

    @property
    def failed(self) -> int:
        return self.runs - self.passed

    @property
    def rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0


@dataclass
class Repeat:
    stage: str
    times: int
    stage_statuses: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    tallies: dict[str, Tally] = field(default_factory=dict)

    def add(self, outcomes: dict[str, bool]) -> None:
        for name, ok in outcomes.items():
            t = self.tallies.setdefault(name, Tally())
            t.runs += 1
            t.passed += int(ok)

    @property
    def flaky(self) -> list[str]:
        return sorted(n for n, t in self.tallies.items() if 0 < t.passed < t.runs)

    @property
    def always_failing(self) -> list[str]:
        return sorted(n for n, t in self.tallies.items() if t.runs and t.passed == 0)


def _sources(reports: Path, stage: str) -> list[Path]:
    return [reports / p for p in BEHAVE_SOURCES.get(stage, [])] + (
        [reports / MUTATION_PROOF] if stage == "mutations" else []
    )


def clear_sources(reports: Path, stage: str) -> None:
    """Remove the last repetition's result files, so a stage that writes none cannot be counted twice."""
    for path in _sources(reports, stage):
        path.unlink(missing_ok=True)


def outcomes(reports: Path, stage: str, stage_status: str) -> dict[str, bool]:
    """Scenario (or mutation) → passed on the first run, from the files the stage just wrote."""
    found: dict[str, bool] = {}
    for rel in BEHAVE_SOURCES.get(stage, []):
        prefix = "external: " if rel.startswith("external/") else ""
        for key, (status, _tags) in scenario_results(reports / rel).items():
            if status != "skipped":
                found[prefix + key] = status == "passed"
    if stage == "mutations" and (reports / MUTATION_PROOF).exists():
        proof: dict[str, Any] = json.loads((reports / MUTATION_PROOF).read_text())
        for v in proof.get("verdicts", []):
            found[f"mutation {v['name']} caught"] = bool(v.get("caught"))
    if not found:  # no per-scenario results (unit, compose, or the stage crashed): the stage itself
        found[f"stage {stage}"] = stage_status == "passed"
    return found


def repeat(stage: str, run: Callable[[], Any], times: int, reports: Path) -> Repeat:
    """Run `run` (a stage function returning a StageResult) `times` times and tally each scenario."""
    result = Repeat(stage, times)
    for i in range(times):
        print(f"\n=== stage: {stage} — repetition {i + 1} of {times} ===", flush=True)
        clear_sources(reports, stage)
        stage_result = run()
        result.stage_statuses.append(stage_result.status)
        result.seconds.append(round(stage_result.seconds, 1))
        result.add(outcomes(reports, stage, stage_result.status))
    return result


def table(result: Repeat) -> str:
    rows = [
        f"Stage `{result.stage}` run {result.times} times: "
        + ", ".join(f"{s} ({t}s)" for s, t in zip(result.stage_statuses, result.seconds, strict=True)),
        "",
        "| scenario | runs | passed | failed | pass rate |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, t in sorted(result.tallies.items(), key=lambda kv: (kv[1].rate, kv[0])):
        rows.append(f"| {name.replace('|', '/')} | {t.runs} | {t.passed} | {t.failed} | {t.rate:.0%} |")
    rows += [
        "",
        f"{len(result.tallies)} scenarios; flaky (passed some runs, failed others): {len(result.flaky)}"
        + (f" — {', '.join(result.flaky)}" if result.flaky else "")
        + f"; failed every run: {len(result.always_failing)}"
        + (f" — {', '.join(result.always_failing)}" if result.always_failing else ""),
    ]
    return "\n".join(rows)


def write(result: Repeat, reports: Path) -> Path:
    reports.mkdir(parents=True, exist_ok=True)
    md = reports / f"repeat-{result.stage}.md"
    md.write_text(f"# Pass rates: stage {result.stage} ×{result.times}\n\n{table(result)}\n")
    data = {**asdict(result), "flaky": result.flaky, "always_failing": result.always_failing}
    (reports / f"repeat-{result.stage}.json").write_text(json.dumps(data, indent=2))
    return md
