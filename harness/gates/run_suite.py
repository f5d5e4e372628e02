"""Run the behave suite the way CI and the README do, and say plainly how it went.

1. behave with the Allure, JSON and rerun formatters (plus progress on stdout);
2. failed scenarios rerun once from behave's rerun file — a scenario that
   passes only on the rerun is *flaky*: counted and listed, not silently green;
3. `@quarantine` scenarios run and are reported but never fail the run; each is
   listed with its age, from a `@quarantine-since:YYYY-MM-DD` tag beside it;
4. Allure 3 builds `reports/allure-report/index.html`, one self-contained file that
   opens from disk (history kept; skipped with --no-report or E2E_REPORT=0);
5. writes `reports/suite-summary.json` and refreshes `reports/metrics.prom`
   (harness/records/metrics_export.py; pushed when PUSHGATEWAY_URL is set);
6. prints `N passed, N failed` and the report path; exit 1 if anything gating failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from harness.records.outcomes import classify, quarantined, scenario_results

REPO = Path(__file__).resolve().parents[2]
# CI and `make acceptance` use reports/; a test of the runner itself points it elsewhere.
REPORTS = Path(os.environ.get("E2E_REPORTS_DIR", REPO / "reports"))
ALLURE_FORMATTER = "allure_behave.formatter:AllureFormatter"


def defines(args: list[str]) -> list[str]:
    """The `-D name=value` userdata among behave arguments, in either spelling."""
    kept: list[str] = []
    for i, arg in enumerate(args):
        if arg in ("-D", "--define") and i + 1 < len(args):
            kept += ["-D", args[i + 1]]
        elif arg.startswith("--define="):
            kept += ["-D", arg.split("=", 1)[1]]
        elif arg.startswith("-D") and len(arg) > 2:
            kept += ["-D", arg[2:]]
    return kept


def rerun_locations(rerun_file: Path) -> list[str]:
    """The `file:line` locations in behave's rerun file, as behave (run from the repo) resolves them.

    The file is not handed to behave as `@rerun.txt`: behave resolves the
    locations in such a file against the file's own folder (reports/), not the
    working directory the rerun formatter wrote them relative to.
    """
    if not rerun_file.exists():
        return []
    found = []
    for line in rerun_file.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        path, _, lineno = line.rpartition(":")
        if not path or not lineno.isdigit():
            raise ValueError(f"{rerun_file}: not a file:line location: {line!r}")
        found.append(line)
    return found


def mark_flaky_in_allure(rerun_results: set[Path], flaky: list[str]) -> None:
    """Flag the rerun's passing result of each flaky scenario `flaky` in the Allure results.

    Allure shows both attempts as retries of one test (same historyId); the flag
    makes the report say *flaky* instead of an unqualified pass. Only the result
    files the rerun wrote are looked at, matched by scenario name.
    """
    wanted = {key.split(" ", 1)[1] for key in flaky}
    for path in rerun_results:
        result = json.loads(path.read_text())
        if result.get("status") != "passed" or result.get("name") not in wanted:
            continue
        result.setdefault("statusDetails", {})["flaky"] = True
        labels = result.setdefault("labels", [])
        if {"name": "tag", "value": "flaky-on-rerun"} not in labels:
            labels.append({"name": "tag", "value": "flaky-on-rerun"})
        path.write_text(json.dumps(result))


def tag_backend(results_dir: Path, backend: str) -> int:
    """Make the Allure results of a run on another backend distinct tests, labelled by backend.

    Allure identifies a test by its historyId (feature, scenario and example row), so the same
    scenario run on the process backend, on an external deployment and on containers would show
    as one test "retried" three times. A `backend` parameter and a historyId that includes it
    keep them apart. Returns how many results were tagged (already tagged ones are left alone).
    """
    tagged = 0
    for path in results_dir.glob("*-result.json"):
        result = json.loads(path.read_text())
        parameters = result.setdefault("parameters", [])
        if any(p.get("name") == "backend" for p in parameters):
            continue
        parameters.append({"name": "backend", "value": backend})
        key = f"{result.get('historyId', '')}:{backend}".encode()
        result["historyId"] = hashlib.md5(key, usedforsecurity=False).hexdigest()
        path.write_text(json.dumps(result))
        tagged += 1
    return tagged


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


def export_metrics() -> None:
    """Refresh reports/metrics.prom (and push it if PUSHGATEWAY_URL is set); never changes the outcome."""
    try:
        from harness.records import metrics_export

        print(f"metrics: {metrics_export.export(REPORTS)}")
    except Exception as exc:  # noqa: BLE001 - observability must not fail the suite
        print(f"metrics: export failed: {exc}", file=sys.stderr)


def report_wanted(no_report_flag: bool) -> bool:
    """False with --no-report or E2E_REPORT=0 (harness/gates/stages.py builds one report per run)."""
    return not no_report_flag and os.environ.get("E2E_REPORT", "1") != "0"


def generate_report(results_dirs: list[Path] | None = None, output: Path | None = None) -> Path | None:
    """One self-contained `index.html` (Allure 3 awesome, single-file mode) from the results directories.

    Single-file so it opens from disk: the multi-file report fetched its data from sibling
    files, which a browser refuses under file://, and showed a spinner forever. The output
    folder is emptied first so only the one `index.html` (plus Allure's summary JSON) is there.
    """
    allure = REPO / "node_modules" / ".bin" / "allure"
    if not allure.exists():
        print("report: Allure is not installed (run scripts/bootstrap.sh)", file=sys.stderr)
        return None
    dirs = [d for d in (results_dirs or [REPORTS / "allure-results"]) if d.is_dir()]
    if not dirs:
        print("report: no Allure results to build a report from", file=sys.stderr)
        return None
    output = output or REPORTS / "allure-report"
    if output.exists():
        shutil.rmtree(output)
    (REPORTS / "history").mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(allure), "generate", "--config", str(REPO / "allurerc.mjs"), *map(str, dirs), "-o", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "E2E_REPORTS_DIR": str(REPORTS)},
    )
    index = output / "index.html"
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
    if "E2E_REPORTS_DIR" in os.environ:
        behave_args = [*behave_args, "-D", f"reports_dir={REPORTS}", "-D", f"log_dir={REPORTS / 'logs'}"]
    code = behave(behave_args, REPORTS / "behave.json", REPORTS / "rerun.txt", results_dir)
    first = scenario_results(REPORTS / "behave.json")
    rerun: dict = {}
    locations = rerun_locations(REPORTS / "rerun.txt")
    if code != 0 and not known.no_rerun and locations:
        print(f"\nrerunning {len(locations)} failed scenario(s) once (a pass now marks them flaky)")
        first_results = set(results_dir.glob("*-result.json"))
        passthrough = defines(behave_args) + ["-D", "rerun=1"]
        behave(
            [*passthrough, *locations],
            REPORTS / "behave-rerun.json",
            REPORTS / "rerun-2.txt",
            results_dir,
        )
        rerun = scenario_results(REPORTS / "behave-rerun.json")
    outcome = classify(first, rerun)
    if rerun:
        mark_flaky_in_allure(set(results_dir.glob("*-result.json")) - first_results, outcome.flaky)
    wall = time.monotonic() - started
    in_quarantine = quarantined(first, outcome)
    summary = {
        "passed": len(outcome.passed),
        "failed": len(outcome.failed),
        "skipped": len(outcome.skipped),
        "flaky": outcome.flaky,
        "quarantined_failed": outcome.quarantined_failed,
        "quarantined": [asdict(q) for q in in_quarantine],
        "failed_scenarios": outcome.failed,
        "rerun": {
            "scenarios": len(rerun),
            "passed": sum(1 for status, _ in rerun.values() if status == "passed"),
            "failed": sum(1 for status, _ in rerun.values() if status not in ("passed", "skipped")),
        },
        "wall_s": round(wall, 1),
        "behave_exit": code,
    }
    (REPORTS / "suite-summary.json").write_text(json.dumps(summary, indent=2))
    index = generate_report() if report_wanted(known.no_report) else None
    print()
    for name in outcome.failed:
        print(f"FAILED  {name}")
    for name in outcome.flaky:
        print(f"FLAKY   {name} (passed only on rerun)")
    for name in outcome.quarantined_failed:
        print(f"QUARANTINED (not gating) {name}")
    if in_quarantine:
        print(f"quarantined scenarios ({len(in_quarantine)}), never gating:")
        for q in in_quarantine:
            print(f"  QUARANTINE {q.describe()}")
    print(
        f"suite wall time {wall:.1f}s; flaky {len(outcome.flaky)}; "
        f"quarantined failures {len(outcome.quarantined_failed)}"
    )
    export_metrics()
    aborted = not any(status != "untested" for status, _ in first.values()) and code != 0
    if aborted:
        # behave stopped before any scenario ran (a failed preflight, a hook error): the run failed
        print(f"no scenario ran: behave exited {code} before the first one (see its error above)")
    print(f"{len(outcome.passed)} passed, {len(outcome.failed) + int(aborted)} failed")
    if index:
        print(f"report: {index}")
    if aborted:
        return code
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
