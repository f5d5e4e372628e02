"""Run the behave suite the way CI and the README do, and say plainly how it went.

1. behave with the Allure, JSON and rerun formatters (plus progress on stdout);
2. failed scenarios rerun once from behave's rerun file — a scenario that
   passes only on the rerun is *flaky*: counted and listed, not silently green;
3. `@quarantine` scenarios run and are reported but never fail the run;
4. Allure 3 builds `reports/allure-report/index.html` (history kept);
5. prints `N passed, N failed` and the report path; exit 1 if anything gating failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "reports"
ALLURE_FORMATTER = "allure_behave.formatter:AllureFormatter"


@dataclass
class Outcome:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    quarantined_failed: list[str] = field(default_factory=list)
    flaky: list[str] = field(default_factory=list)


def scenario_results(json_path: Path) -> dict[str, tuple[str, list[str]]]:
    """{ "file:line name": (status, tags) } from behave's JSON formatter output."""
    results: dict[str, tuple[str, list[str]]] = {}
    if not json_path.exists() or not json_path.read_text().strip():
        return results
    for feature in json.loads(json_path.read_text()):
        for element in feature.get("elements", []):
            if element.get("type") != "scenario":
                continue
            key = f"{element['location']} {element['name']}"
            tags = [t.lstrip("@") for t in element.get("tags", [])] + [
                t.lstrip("@") for t in feature.get("tags", [])
            ]
            results[key] = (element.get("status", "untested"), tags)
    return results


def behave(args: list[str], json_out: Path, rerun_out: Path, results_dir: Path) -> int:
    argv = [
        str(REPO / ".venv" / "bin" / "behave"),
        "--no-capture",
        "--no-skipped",
        "-f",
        ALLURE_FORMATTER,
        "-o",
        str(results_dir),
        "-f",
        "json",
        "-o",
        str(json_out),
        "-f",
        "rerun",
        "-o",
        str(rerun_out),
        "-f",
        "progress",
        *args,
    ]
    return subprocess.call(argv, cwd=REPO)


def classify(first: dict, rerun: dict) -> Outcome:
    out = Outcome()
    for key, (status, tags) in first.items():
        if status == "skipped" or status == "untested":
            out.skipped.append(key)
            continue
        if status == "passed":
            out.passed.append(key)
            continue
        second = rerun.get(key, (status, tags))[0]
        if second == "passed":
            out.flaky.append(key)
            out.passed.append(key)
        elif "quarantine" in tags:
            out.quarantined_failed.append(key)
        else:
            out.failed.append(key)
    return out


def generate_report() -> Path | None:
    allure = REPO / "node_modules" / ".bin" / "allure"
    if not allure.exists():
        print("report: Allure is not installed (run scripts/bootstrap.sh)", file=sys.stderr)
        return None
    (REPORTS / "history").mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(allure), "generate", "--config", str(REPO / "allurerc.mjs"), str(REPORTS / "allure-results")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    index = REPORTS / "allure-report" / "index.html"
    if proc.returncode != 0 or not index.exists():
        print(
            f"report: allure generate failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}", file=sys.stderr
        )
        return None
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-rerun", action="store_true", help="do not rerun failed scenarios")
    parser.add_argument("--no-report", action="store_true", help="skip the Allure HTML report")
    known, behave_args = parser.parse_known_args(argv)
    REPORTS.mkdir(exist_ok=True)
    results_dir = REPORTS / "allure-results"
    started = time.monotonic()
    code = behave(behave_args, REPORTS / "behave.json", REPORTS / "rerun.txt", results_dir)
    first = scenario_results(REPORTS / "behave.json")
    rerun: dict = {}
    rerun_file = REPORTS / "rerun.txt"
    if code != 0 and not known.no_rerun and rerun_file.exists() and rerun_file.read_text().strip():
        print("\nrerunning failed scenarios once (a pass now marks them flaky)")
        passthrough = [a for a in behave_args if a.startswith(("-D", "--define"))]
        behave(
            [*passthrough, f"@{rerun_file}"],
            REPORTS / "behave-rerun.json",
            REPORTS / "rerun-2.txt",
            results_dir,
        )
        rerun = scenario_results(REPORTS / "behave-rerun.json")
    outcome = classify(first, rerun)
    wall = time.monotonic() - started
    summary = {
        "passed": len(outcome.passed),
        "failed": len(outcome.failed),
        "skipped": len(outcome.skipped),
        "flaky": outcome.flaky,
        "quarantined_failed": outcome.quarantined_failed,
        "failed_scenarios": outcome.failed,
        "wall_s": round(wall, 1),
        "behave_exit": code,
    }
    (REPORTS / "suite-summary.json").write_text(json.dumps(summary, indent=2))
    index = None if known.no_report else generate_report()
    print()
    for name in outcome.failed:
        print(f"FAILED  {name}")
    for name in outcome.flaky:
        print(f"FLAKY   {name} (passed only on rerun)")
    for name in outcome.quarantined_failed:
        print(f"QUARANTINED (not gating) {name}")
    print(
        f"suite wall time {wall:.1f}s; flaky {len(outcome.flaky)}; "
        f"quarantined failures {len(outcome.quarantined_failed)}"
    )
    print(f"{len(outcome.passed)} passed, {len(outcome.failed)} failed")
    if index:
        print(f"report: {index}")
    if not first and code != 0:
        return code
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
