"""The gates, as CI runs them: one table, one plain summary line.

Stages: contracts (drift, scrub, pacts vs OpenAPI, provider verification: the cheap, decisive
seam checks, ~10 s, so a provider that breaks a pact is red within seconds) → unit (pytest) →
fuzz (schemathesis) → e2e (behave, both modes) → faults → mutations (the contract mutation proof,
then the behavioural one: do the checks above catch every break) → load → compose →
observability (the run's metrics on a real Prometheus/Alertmanager; runs even after a failed
stage, because a failed run is what it must report).

`PLAN` says when each runs: contracts alone and first; then unit, fuzz/mutations and
e2e/faults/compose as three lanes at once (most of their time is spent waiting on the services,
behave and k6 they start, so one after the other left a 2-core machine half idle); then load
alone (its latencies are the run's figures, not the neighbours'), then observability. A stage
in a lane runs as its own `python -m harness.gates.stages --only NAME` with its own reports
directory (reports/lanes/NAME), its output going to reports/stages/NAME.log; the one Allure
report and reports/metrics.prom gather every lane's results (docs/decisions.md, "Gate lanes").
`--serial` runs every stage in this process, in order, streaming its output.

A stage whose tooling is not part of this checkout yet is listed as `absent` rather than
silently skipped. Any failing stage fails the run, and its verdict is printed the moment it
ends; no stage starts after a failure (stages already running in other lanes finish), except
observability. The last line is `N passed, N failed` summed over pytest and behave, just after
the path of the one Allure report of the whole run. `--repeat N` measures flakiness
(harness/gates/repeat.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness.gates import secret_scan
from harness.gates.run_suite import export_metrics, generate_report, tag_backend
from harness.records import metrics_export

REPO = Path(__file__).resolve().parents[2]
PY = str(REPO / ".venv" / "bin" / "python")
REPORTS = Path(os.environ.get("E2E_REPORTS_DIR", REPO / "reports"))
BEHAVE_ARGS: list[str] = []  # extra behave arguments for every behave stage (--behave-arg)
CI_LOAD_DURATION_S = 20
# The one report of the run is built at the end from these; behave stages skip their own (E2E_REPORT=0).
ALLURE_RESULTS = ("allure-results", "external/allure-results", "compose-stage/allure-results")
OTHER_BACKENDS = (("external/allure-results", "external"), ("compose-stage/allure-results", "compose"))
NO_STAGE_REPORT = {"E2E_REPORT": "0"}
_PYTEST_COUNTS = re.compile(r"(\d+) (passed|failed|error|errors)")


@dataclass
class StageResult:
    name: str
    status: str  # passed | failed | absent
    seconds: float
    passed: int = 0
    failed: int = 0
    note: str = ""


def _run(argv: list[str], log: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run a command, streaming its output to our stdout and to a log file."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out: list[str] = []
    with subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            out.append(line)
        code = proc.wait()
    text = "".join(out)
    log.write_text(text)
    return code, text


def _plain_counts(text: str) -> tuple[int, int]:
    """The last `N passed, N failed` line a script printed."""
    for line in reversed(text.strip().splitlines()):
        m = re.fullmatch(r"\s*(\d+) passed, (\d+) failed.*", line)
        if m:
            return int(m.group(1)), int(m.group(2))
    return 0, 0


def _pytest_counts(text: str) -> tuple[int, int]:
    tail = text.strip().splitlines()[-1] if text.strip() else ""
    counts = {k: int(n) for n, k in _PYTEST_COUNTS.findall(tail)}
    return counts.get("passed", 0), counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)


# pytest-xdist: most unit time is spent waiting on the processes tests start (services, behave,
# k6), so three workers keep two cores busy, beside the other lanes too; whole files per worker
# keep module fixtures (the alert chain's servers, the report's browser) started once
# (docs/decisions.md).
UNIT_WORKERS = ["-n", "3", "--dist", "loadfile"]


def unit() -> StageResult:
    t0 = time.monotonic()
    # a lane's reports directory is the gate's, not the tests' (they choose their own)
    env = {k: v for k, v in os.environ.items() if k != "E2E_REPORTS_DIR"}
    code, text = _run(
        [PY, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", *UNIT_WORKERS],
        REPORTS / "stages" / "unit.log",
        env=env,
    )
    passed, failed = _pytest_counts(text)
    ok = code == 0
    return StageResult(
        "unit", "passed" if ok else "failed", time.monotonic() - t0, passed, failed or (0 if ok else 1)
    )


def _behave_stage(name: str, tags: list[str], extra: list[str] | None = None) -> StageResult:
    t0 = time.monotonic()
    code, _ = _run(
        [PY, "-m", "harness.gates.run_suite", *[f"--tags={t}" for t in tags], *(extra or []), *BEHAVE_ARGS],
        REPORTS / "stages" / f"{name}.log",
        env={**os.environ, **NO_STAGE_REPORT},
    )
    summary_path = REPORTS / "suite-summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    note = f"flaky {len(summary.get('flaky', []))}" if summary.get("flaky") else ""
    return StageResult(
        name,
        "passed" if code == 0 else "failed",
        time.monotonic() - t0,
        summary.get("passed", 0),
        summary.get("failed", 0 if code == 0 else 1),
        note,
    )


def _absent(name: str, why: str) -> StageResult:
    print(f"stage {name}: absent — {why}")
    return StageResult(name, "absent", 0.0, note=why)


# The contract mutation proof (~70 s) is not a check of the seam but of the checks: it runs in the
# mutations stage, so the first stage stays cheap (docs/decisions.md, "Gate order").
CONTRACT_TAGS = ["@contract", "~@mutation-proof"]
CONTRACT_MUTATION_TAGS = ["@contract", "@mutation-proof"]


def contracts() -> StageResult:
    """Consumer tests + drift, scrub and both providers' verification, via features/contracts.feature."""
    return _behave_stage("contracts", CONTRACT_TAGS)


def compose() -> StageResult:
    script = REPO / "scripts" / "compose-stage.sh"
    if not script.exists():
        return _absent("compose", "scripts/compose-stage.sh not in this checkout")
    t0 = time.monotonic()
    code, text = _run(["bash", str(script)], REPORTS / "stages" / "compose.log")
    passed, failed = _plain_counts(text)
    return StageResult(
        "compose",
        "passed" if code == 0 else "failed",
        time.monotonic() - t0,
        passed,
        failed if code == 0 else max(failed, 1),
    )


def _module_stage(name: str, module: str, note: str) -> StageResult:
    """A stage that is one `python -m module` printing its own `N passed, N failed` line."""
    t0 = time.monotonic()
    code, text = _run([PY, "-m", module], REPORTS / "stages" / f"{name}.log")
    passed, failed = _plain_counts(text)
    return StageResult(
        name,
        "passed" if code == 0 else "failed",
        time.monotonic() - t0,
        passed,
        failed if code == 0 else max(failed, 1),
        note,
    )


def fuzz() -> StageResult:
    """schemathesis against MC and an integrated COS from their OpenAPI documents (≤ 60 s; gates/fuzz.py)."""
    return _module_stage(
        "fuzz", "harness.gates.fuzz", "operations conforming / failing (reports/fuzz/fuzz.md)"
    )


def e2e() -> StageResult:
    mode = os.environ.get("E2E_MODE")  # the GitHub workflow's matrix runs one mode per job
    tags = [
        "~@load",
        "~@faults",
        "~@contract",
        "~@compose-only",
        "~@observability",
        *([f"@{mode}"] if mode else []),
    ]
    return _behave_stage("e2e", tags)


def faults() -> StageResult:
    """`@faults` on the process backend, then the runbook's external-backend recipe as written.

    The recipe starts MC, the fault proxy and COS by hand and runs every `@integrated` scenario
    (faults included) through `backend=external`: proof that the suite passes against services it
    does not own and leaves them as found (harness/gates/runbook_recipe.py).
    """
    if not (REPO / "features" / "faults.feature").exists():
        return _absent("faults", "features/faults.feature not in this checkout")
    owned = _behave_stage("faults", ["@faults"])
    if owned.status != "passed":
        return owned
    t0 = time.monotonic()
    out = REPORTS / "external"
    code, text = _run(
        [PY, "-m", "harness.gates.runbook_recipe", "external-backend"],
        REPORTS / "stages" / "faults-external.log",
        env={**os.environ, "E2E_REPORTS_DIR": str(out), **NO_STAGE_REPORT},
    )
    passed, failed = _plain_counts(text)
    plan_path = out / "plan.json"  # what the run planned, skips with their reasons (harness/env/plan.py)
    plan = json.loads(plan_path.read_text()) if plan_path.exists() else []
    skipped = sum(1 for p in plan if not p["runs"])
    took = time.monotonic() - t0
    note = f"external recipe: {passed} passed, {failed} failed, {skipped} skipped in {took:.0f}s"
    return StageResult(
        "faults",
        "passed" if code == 0 else "failed",
        owned.seconds + time.monotonic() - t0,
        owned.passed + passed,
        owned.failed + (failed if code == 0 else max(failed, 1)),
        "; ".join(n for n in (owned.note, note) if n),
    )


def mutations() -> StageResult:
    """Both mutation proofs: the checks above catch every break they claim to.

    First the contract mutation proof (every seam mutation fails its provider's pact verification,
    features/contracts.feature), then the behavioural one: each break a pact cannot see fails an
    E2E / faults scenario — baseline first, then one behave run per mutation
    (harness/gates/mutation_proof.py), writing docs/mutations-behaviour.md.
    `N passed, N failed` counts the contract scenario plus behavioural mutations caught / missed.
    """
    pacts = _behave_stage("mutations-contracts", CONTRACT_MUTATION_TAGS)  # its own log
    pacts.name = "mutations"
    if pacts.status != "passed":
        pacts.note = "contract mutation proof failed; behavioural proof not run"
        return pacts
    behaviour = _module_stage(
        "mutations", "harness.gates.mutation_proof", "contract proof + behavioural mutations caught / missed"
    )
    behaviour.seconds += pacts.seconds
    behaviour.passed += pacts.passed
    return behaviour


def load() -> StageResult:
    """The CI load profile: the feature's own rate, mix and budgets over a shorter window."""
    return _behave_stage("load", ["@load"], ["-D", f"load_duration_s={CI_LOAD_DURATION_S}"])


def observability() -> StageResult:
    """The alert chain on real servers (docs/observability.md, "Alerts").

    First this run's reports/metrics.prom goes to a Pushgateway scraped by a Prometheus with
    observability/alerts.yml, routed by an Alertmanager to a local webhook (what fires is in the
    note and reports/observability/run-alerts.json); then features/notifications.feature proves
    a broken contract run notifies, naming gate and run, in time, and a green run does not.
    """
    t0 = time.monotonic()
    code, _ = _run(
        [PY, "-m", "harness.domain.notifications", "push-run"], REPORTS / "stages" / "observability-run.log"
    )
    alerts_path = REPORTS / "observability" / "run-alerts.json"
    alerts = json.loads(alerts_path.read_text()) if code == 0 and alerts_path.exists() else None
    firing = sorted({f"{a['alertname']} ({a.get('gate', '?')})" for a in alerts["firing"]}) if alerts else []
    # its own feature named, so --behave-arg feature paths meant for other stages do not leave it empty
    scenarios = _behave_stage("observability", ["@observability"], ["features/notifications.feature"])
    ok = code == 0 and scenarios.status == "passed"
    return StageResult(
        "observability",
        "passed" if ok else "failed",
        time.monotonic() - t0,
        scenarios.passed,
        scenarios.failed + (0 if code == 0 else 1),
        "push failed" if alerts is None else f"this run's alerts: {', '.join(firing) or 'none'}",
    )


# Stages that run even after an earlier one failed (without --keep-going).
ALWAYS_RUN = {"observability"}

# The table's order. Cheap, decisive first: a broken seam is red before anything else starts.
STAGES: dict[str, Callable[[], StageResult]] = {
    "contracts": contracts,
    "unit": unit,
    "fuzz": fuzz,
    "e2e": e2e,
    "faults": faults,
    "mutations": mutations,
    "load": load,
    "compose": compose,
    "observability": observability,
}

# When each stage runs: groups one after the other; the lanes of a group at the same time, each
# lane its stages in order. Lanes are balanced by measured CPU and wall time (docs/decisions.md,
# "Gate lanes"); faults and compose share a lane so two stages that stop, start and break
# services never share the machine's fixed runbook ports or Docker at once.
PLAN: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("contracts",),),
    (("unit",), ("fuzz", "mutations"), ("e2e", "faults", "compose")),
    (("load",),),
    (("observability",),),
)
LANES_DIR = "lanes"  # under REPORTS: one reports directory per stage run in a lane


def _secret_gate(result: StageResult, gate: secret_scan.StageGate) -> StageResult:
    """A stage whose reports hold a secret fails, naming file and kind (harness/gates/secret_scan.py)."""
    findings = gate.check(REPORTS)
    for line in secret_scan.describe_all(findings):
        print(f"secret scan after {result.name}: {line}")
    if findings:
        result.status = "failed"
        result.failed += 1
        result.note = "; ".join(n for n in (result.note, gate.note(findings)) if n)
    return result


def table(results: list[StageResult]) -> str:
    rows = ["| stage | status | duration | passed | failed | note |", "| --- | --- | --- | --- | --- | --- |"]
    rows += [
        f"| {r.name} | {r.status} | {r.seconds:.1f}s | {r.passed} | {r.failed} | {r.note} |" for r in results
    ]
    return "\n".join(rows)


def _repeat(times: int, names: list[str]) -> int:
    """`--repeat N`: flakiness, measured — every selected stage N times, a pass-rate table each."""
    from harness.gates import repeat

    failed = passed = 0
    for name in names:
        result = repeat.repeat(name, STAGES[name], times, REPORTS)
        print("\n" + repeat.table(result))
        print(f"written to {repeat.write(result, REPORTS)}")
        passed += sum(t.passed for t in result.tallies.values())
        failed += sum(t.failed for t in result.tallies.values())
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def verdict_line(result: StageResult, elapsed_s: float) -> str:
    """Printed as soon as a stage ends, so a red stage is visible before the run's table."""
    return (
        f"=== stage {result.name}: {result.status.upper()} in {result.seconds:.1f}s "
        f"({result.passed} passed, {result.failed} failed; {elapsed_s:.0f}s into the run) ==="
    )


def _write_stage_table(results: list[StageResult]) -> None:
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "stages.json").write_text(json.dumps([r.__dict__ for r in results], indent=2))


def _quiet_run(argv: list[str], log: Path, env: dict[str, str]) -> int:
    """Run a command with its output going to `log` only (lanes would interleave on stdout)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        return subprocess.call(argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)


def lane_dir(name: str) -> Path:
    return REPORTS / LANES_DIR / name


def in_child(name: str) -> StageResult:
    """One stage as `python -m harness.gates.stages --only NAME`, reports under reports/lanes/NAME.

    Its own reports directory keeps what a stage reads back (suite-summary.json, behave.json,
    the rerun's Allure results) its own while other stages run; the child builds no report of
    its own and pushes nothing (this process gathers both at the end).
    """
    out = lane_dir(name)
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "E2E_REPORTS_DIR": str(out)}
    env.pop("PUSHGATEWAY_URL", None)
    argv = [PY, "-m", "harness.gates.stages", "--only", name, "--no-report", "--serial"]
    argv += [f"--behave-arg={a}" for a in BEHAVE_ARGS]
    t0 = time.monotonic()
    code = _quiet_run(argv, REPORTS / "stages" / f"{name}.log", env)
    rows = json.loads((out / "stages.json").read_text()) if (out / "stages.json").exists() else []
    row = next((r for r in rows if r.get("name") == name), None)
    if row is None:
        return StageResult(
            name, "failed", time.monotonic() - t0, 0, 1, f"the stage exited {code} without a result"
        )
    result = StageResult(**row)
    if code != 0 and result.status == "passed":  # the child's secret scan or its report failed it
        result.status, result.failed = "failed", max(result.failed, 1)
    return result


def _log_tail(name: str, lines: int = 40) -> str:
    log = REPORTS / "stages" / f"{name}.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


class Runner:
    """Runs the selected stages by PLAN and keeps the run's table; safe to call from lane threads."""

    def __init__(self, selected: list[str], keep_going: bool) -> None:
        self.selected = selected
        self.keep_going = keep_going
        self.results: list[StageResult] = []
        self.started_stages: set[str] = set()
        self.stopped = False
        self.secrets = secret_scan.StageGate()
        self.t0 = time.monotonic()
        self._lock = threading.Lock()

    def stage(self, name: str, lane: bool) -> None:
        with self._lock:
            if self.stopped and name not in ALWAYS_RUN:
                return
            self.started_stages.add(name)
            where = f" (in a lane; output in {REPORTS / 'stages' / f'{name}.log'})" if lane else ""
            print(f"\n=== stage: {name} ==={where}", flush=True)
        result = in_child(name) if lane else STAGES[name]()
        with self._lock:
            result = _secret_gate(result, self.secrets)
            self.results.append(result)
            self.results.sort(key=lambda r: list(STAGES).index(r.name))
            _write_stage_table(self.results)  # the observability stage pushes the stages so far
            print(verdict_line(result, time.monotonic() - self.t0), flush=True)
            if lane and result.status == "failed":
                print(f"--- last lines of {name}'s output ---\n{_log_tail(name)}\n---", flush=True)
            if result.status == "failed" and not self.keep_going and not self.stopped:
                self.stopped = True
                later = [
                    n
                    for n in STAGES
                    if n in self.selected and n not in self.started_stages and n not in ALWAYS_RUN
                ]
                print(
                    f"stopping: {', '.join(later) or 'nothing'} skipped (--keep-going runs them)", flush=True
                )

    def group(self, lanes: list[list[str]], serial: bool) -> None:
        """One group of PLAN: its lanes at once (each stage in a child process), or in order."""
        if serial or len(lanes) == 1:
            for lane in lanes:
                for name in lane:
                    self.stage(name, lane=False)
            return
        with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
            futures = [
                pool.submit(lambda lane=lane: [self.stage(n, lane=True) for n in lane]) for lane in lanes
            ]
            for future in futures:
                future.result()
        _gather_lane_metrics()


def _gather_lane_metrics() -> None:
    """Fold each lane's metrics.prom into reports/metrics.prom (observability pushes that file)."""
    lanes = REPORTS / LANES_DIR
    if lanes.is_dir():
        metrics_export.merge_textfiles(
            sorted(lanes.glob(f"*/{metrics_export.OUTPUT}")), REPORTS / metrics_export.OUTPUT
        )


def allure_result_dirs() -> list[tuple[Path, str | None]]:
    """Every Allure results directory of this run, with the backend to tag it with (None: process)."""
    roots = [REPORTS, *sorted(p for p in (REPORTS / LANES_DIR).glob("*") if p.is_dir())]
    backends = dict(OTHER_BACKENDS)
    return [(root / d, backends.get(d)) for root in roots for d in ALLURE_RESULTS if (root / d).is_dir()]


def planned(selected: list[str]) -> list[list[list[str]]]:
    """PLAN with only the selected stages; empty lanes and groups dropped. A stage PLAN does
    not name (a new one, or a test's stand-in) runs alone after the plan, in STAGES order."""
    groups = []
    for group in PLAN:
        lanes = [[n for n in lane if n in selected] for lane in group]
        lanes = [lane for lane in lanes if lane]
        if lanes:
            groups.append(lanes)
    in_plan = {n for group in PLAN for lane in group for n in lane}
    groups += [[[n]] for n in selected if n not in in_plan]
    return groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", action="append", choices=list(STAGES), help="run only these stages")
    parser.add_argument("--keep-going", action="store_true", help="run later stages after a failure")
    parser.add_argument(
        "--serial", action="store_true", help="no lanes: every stage in this process, in PLAN order"
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="build no Allure report (a lane's child: the parent builds it)",
    )
    parser.add_argument(
        "--behave-arg",
        action="append",
        default=[],
        help="an argument for every behave stage, e.g. --behave-arg=-Denv.SEAM_MUTATIONS=cos.evidence-201",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=0,
        metavar="N",
        help="run each selected stage N times; print a per-scenario pass-rate table (gates/repeat.py)",
    )
    args = parser.parse_args(argv)
    BEHAVE_ARGS[:] = args.behave_arg
    if args.repeat:
        return _repeat(args.repeat, args.only or list(STAGES))
    for result_dir in ALLURE_RESULTS:  # the report shows this run only
        shutil.rmtree(REPORTS / result_dir, ignore_errors=True)
    shutil.rmtree(REPORTS / LANES_DIR, ignore_errors=True)
    if not args.only:  # a whole run: its metrics (and so its alerts) describe this run, not earlier ones
        for name in ("metrics.prom", "stages.json"):
            (REPORTS / name).unlink(missing_ok=True)
    selected = [n for n in STAGES if not args.only or n in args.only]
    runner = Runner(selected, args.keep_going)
    for lanes in planned(selected):
        runner.group(lanes, args.serial)
    results = runner.results
    _write_stage_table(results)
    export_metrics()  # reports/metrics.prom (+ Pushgateway if PUSHGATEWAY_URL is set); never fails the run
    report = None
    if not args.no_report:
        dirs = allure_result_dirs()
        for results_dir, backend in dirs:
            if backend:
                tag_backend(results_dir, backend)  # one scenario on three backends: three tests
        report = generate_report([d for d, _ in dirs])
    print("\n" + table(results))
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    if not args.no_report:
        print(
            f"report: {report}" if report else "report: none (no scenario ran, or Allure failed — see above)"
        )
    print(f"{passed} passed, {failed} failed")
    return 1 if any(r.status == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
