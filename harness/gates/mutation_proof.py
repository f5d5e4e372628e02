"""Behavioural mutation proof: every break a pact cannot see must fail an E2E / faults scenario.

The catalogue is the `## Behavioural mutations` table of docs/mutations.md: name, provider,
what breaks, and the scenarios that must catch it (`feature: scenario name prefix`, `;`-separated).

Accounting, so that "caught" means something:

1. **Baseline first.** Every owning scenario runs once with no mutation (real behave, services as
   processes). If any of them does not pass, the run says so, counts *nothing* as caught and runs
   no mutation: a suite that fails anyway proves nothing about a mutation.
2. **Caught** = at least one scenario that passed on the baseline fails a *step* under the mutation
   (`-D env.SEAM_MUTATIONS=<name>`, which the process backend hands to COS and MC). A scenario
   that only errored in a hook (an environment that did not start) does not count.

Speed (≤ 3 min on a 2-core machine): each mutation runs only its own scenarios, in a behave
process of its own (own ports, own data dirs, own report dir), and those processes go through a
small pool (`BEHAVIOUR_MUTATION_WORKERS`, default 2). The baseline is one behave run per
feature file, through the same pool.

`also` (tests only) applies extra SEAM_MUTATIONS to every run, the baseline included: that is how
tests/harness/test_mutation_proof.py breaks the suite in a way unrelated to the mutation under
test and shows the run refuses to count it.

    python -m harness.gates.mutation_proof                       # all; writes docs/mutations-behaviour.md
    python -m harness.gates.mutation_proof --only cos.receipt-ignored --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PY = str(REPO / ".venv" / "bin" / "python")
CATALOGUE = REPO / "docs" / "mutations.md"
GENERATED = REPO / "docs" / "mutations-behaviour.md"
SECTION = "## behavioural mutations"
DEFAULT_WORKERS = 2
RUN_BUDGET_S = 300  # one behave run; a hang must not stall the gate
_ROW = re.compile(r"^\|\s*`((?:mc|cos)\.[a-z0-9-]+)`\s*\|\s*(MC|COS)\s*\|\s*(.+?)\s*\|\s*(.+?)\s*\|\s*$")
_TARGET = re.compile(r"^`?([a-z0-9_]+\.feature)`?\s*:\s*(.+)$")


@dataclass(frozen=True)
class Target:
    feature: str  # file name under features/
    scenario: str  # scenario name prefix


@dataclass(frozen=True)
class Entry:
    name: str
    provider: str
    breaks: str
    targets: tuple[Target, ...]


def catalogue(path: Path = CATALOGUE) -> list[Entry]:
    """The rows of the behavioural table; a row whose targets do not parse is an error."""
    entries, inside = [], False
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("## "):
            inside = line.strip().lower().startswith(SECTION)
            continue
        m = _ROW.match(line) if inside else None
        if not m:
            continue
        targets = []
        for part in m.group(4).split(";"):
            t = _TARGET.match(part.strip())
            if not t:
                raise ValueError(
                    f"{m.group(1)}: cannot read target {part.strip()!r} (want `x.feature`: name)"
                )
            targets.append(Target(t.group(1), t.group(2).strip()))
        entries.append(Entry(m.group(1), m.group(2), m.group(3), tuple(targets)))
    return entries


# --- one behave run ----------------------------------------------------------------------------
@dataclass
class Scenario:
    status: str  # passed | failed | skipped | untested
    failed_step: str | None = None  # "step text — first line of the error", when a step failed
    name: str = ""


@dataclass
class Run:
    label: str
    mutations: str
    seconds: float = 0.0
    code: int = 0
    scenarios: dict[str, Scenario] = field(default_factory=dict)  # "file:line" → outcome
    crashed: str | None = None  # behave produced no results at all (the tail of its output)

    def passed(self) -> set[str]:
        return {k for k, s in self.scenarios.items() if s.status == "passed"}

    def failed_a_step(self) -> set[str]:
        return {k for k, s in self.scenarios.items() if s.failed_step}


def _first_line(lines: object) -> str:
    text = "\n".join(lines) if isinstance(lines, list) else str(lines or "")
    for line in text.splitlines():
        if line.strip() and not line.startswith("Traceback"):
            return line.strip()[:200]
    return ""


def parse_behave_json(text: str) -> dict[str, Scenario]:
    out: dict[str, Scenario] = {}
    for feature in json.loads(text or "[]"):
        for element in feature.get("elements", []):
            if element.get("type") != "scenario":
                continue
            failed = None
            for step in element.get("steps", []):
                result = step.get("result") or {}
                if result.get("status") == "failed":
                    failed = f"{step.get('keyword', '').strip()} {step.get('name', '')} — " + _first_line(
                        result.get("error_message")
                    )
                    break
            out[element["location"]] = Scenario(element.get("status", "untested"), failed, element["name"])
    return out


def _name_pattern(prefix: str) -> str:
    return "^" + re.escape(prefix)


def behave_argv(targets: Iterable[Target], mutations: str, out: Path) -> list[str]:
    targets = list(targets)
    features = sorted({f"features/{t.feature}" for t in targets})
    argv = [PY, "-m", "behave", *features, "--no-summary", "-f", "json", "-o", str(out / "behave.json")]
    argv += ["-f", "progress", "-o", str(out / "progress.txt")]
    for t in targets:
        argv += ["-n", _name_pattern(t.scenario)]
    argv += ["-D", f"reports_dir={out}", "-D", f"log_dir={out / 'logs'}"]
    if mutations:
        argv += ["-D", f"env.SEAM_MUTATIONS={mutations}"]
    return argv


def run_behave(label: str, targets: Iterable[Target], mutations: str, out: Path) -> Run:
    out.mkdir(parents=True, exist_ok=True)
    argv = behave_argv(targets, mutations, out)
    run = Run(label=label, mutations=mutations)
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            argv, cwd=REPO, capture_output=True, text=True, timeout=RUN_BUDGET_S, check=False
        )
        run.code = proc.returncode
        tail = (proc.stdout + proc.stderr)[-2000:]
    except subprocess.TimeoutExpired as exc:
        run.code, tail = -1, f"behave did not finish within {RUN_BUDGET_S}s: {exc}"
    run.seconds = round(time.monotonic() - t0, 1)
    results = out / "behave.json"
    try:
        run.scenarios = parse_behave_json(results.read_text()) if results.exists() else {}
    except ValueError as exc:
        run.crashed = f"unreadable behave JSON: {exc}"
    if not run.scenarios and run.crashed is None:
        run.crashed = tail or f"behave exited {run.code} with no results"
    return run


# --- the proof -----------------------------------------------------------------------------------
@dataclass
class Verdict:
    name: str
    provider: str
    breaks: str
    owners: list[str]  # the scenarios (file:line name) that passed on the baseline and must catch it
    caught: bool = False
    caught_by: list[str] = field(default_factory=list)  # "file:line name — failing step"
    seconds: float = 0.0
    note: str = ""


@dataclass
class Proof:
    baseline_ok: bool
    baseline: list[Run]
    verdicts: list[Verdict]
    seconds: float
    problem: str = ""

    @property
    def caught(self) -> int:
        return sum(v.caught for v in self.verdicts)

    @property
    def missed(self) -> int:
        return len(self.verdicts) - self.caught


def _owned(entry: Entry, scenarios: dict[str, Scenario]) -> set[str]:
    """The scenarios of `scenarios` that `entry`'s targets select (same file, name prefix)."""
    out = set()
    for loc, s in scenarios.items():
        for t in entry.targets:
            if loc.split(":")[0].endswith(f"/{t.feature}") and re.match(_name_pattern(t.scenario), s.name):
                out.add(loc)
    return out


def judge(entry: Entry, baseline: dict[str, Scenario], mutated: Run) -> Verdict:
    """Caught iff some owned scenario passed on the baseline and failed a step under the mutation."""
    owners = sorted(_owned(entry, baseline))
    passed_before = {k for k in owners if baseline[k].status == "passed"}
    verdict = Verdict(
        entry.name,
        entry.provider,
        entry.breaks,
        [f"{k} {baseline[k].name}" for k in owners],
        seconds=mutated.seconds,
    )
    if mutated.crashed:
        verdict.note = f"the run under the mutation produced no results: {mutated.crashed[-300:]}"
        return verdict
    hits = sorted(passed_before & mutated.failed_a_step())
    verdict.caught = bool(hits)
    verdict.caught_by = [f"{k} {baseline[k].name} — {mutated.scenarios[k].failed_step}" for k in hits]
    if not hits:
        verdict.note = "every owning scenario still passed" if owners else "no owning scenario ran"
    return verdict


def _workers() -> int:
    return max(1, int(os.environ.get("BEHAVIOUR_MUTATION_WORKERS", DEFAULT_WORKERS)))


def prove(entries: list[Entry], out_dir: Path, also: str = "", workers: int | None = None) -> Proof:
    t0 = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=workers or _workers())
    try:
        by_feature: dict[str, list[Target]] = {}
        for e in entries:
            for t in e.targets:
                if t not in by_feature.setdefault(t.feature, []):
                    by_feature[t.feature].append(t)
        futures = [
            pool.submit(
                run_behave, f"baseline {f}", ts, also, out_dir / "baseline" / f.removesuffix(".feature")
            )
            for f, ts in sorted(by_feature.items())
        ]
        baseline_runs = [f.result() for f in futures]
        baseline: dict[str, Scenario] = {}
        for r in baseline_runs:
            baseline.update(r.scenarios)
        problem = _baseline_problem(entries, baseline_runs, baseline)
        if problem:
            verdicts = [
                Verdict(e.name, e.provider, e.breaks, [], note="not run: the baseline is broken")
                for e in entries
            ]
            return Proof(False, baseline_runs, verdicts, round(time.monotonic() - t0, 1), problem)
        mutated = {
            e.name: pool.submit(
                run_behave, e.name, e.targets, ",".join(filter(None, [also, e.name])), out_dir / e.name
            )
            for e in entries
        }
        verdicts = [judge(e, baseline, mutated[e.name].result()) for e in entries]
    finally:
        pool.shutdown(wait=True)
    return Proof(True, baseline_runs, verdicts, round(time.monotonic() - t0, 1))


def _baseline_problem(entries: list[Entry], runs: list[Run], baseline: dict[str, Scenario]) -> str:
    crashed = [f"{r.label}: {r.crashed[-300:]}" for r in runs if r.crashed]
    if crashed:
        return "the baseline run produced no results — " + "; ".join(crashed)
    not_passed = sorted(
        f"{k} {s.name} ({s.status}: {s.failed_step or 'no failed step'})"
        for k, s in baseline.items()
        if s.status != "passed"
    )
    if not_passed:
        return f"{len(not_passed)} owning scenario(s) do not pass without any mutation: " + "; ".join(
            not_passed
        )
    unowned = [e.name for e in entries if not _owned(e, baseline)]
    if unowned:
        return f"no scenario on the baseline matches the targets of {', '.join(unowned)}"
    return ""


# --- output --------------------------------------------------------------------------------------
def markdown(proof: Proof, workers: int) -> str:
    lines = [
        "# Behavioural mutations: proof (generated)",
        "",
        "Generated by `python -m harness.gates.mutation_proof` from its own run — do not edit by hand.",
        "Catalogue and rules: [mutations.md](mutations.md#behavioural-mutations).",
        "",
    ]
    base = ", ".join(f"{r.label} {r.seconds}s" for r in proof.baseline)
    if not proof.baseline_ok:
        lines += [f"**Baseline broken — nothing counted as caught.** {proof.problem}", ""]
    else:
        n = sum(len(r.scenarios) for r in proof.baseline)
        lines += [f"Baseline: {n} owning scenarios, all passed without any mutation ({base}).", ""]
    lines += [
        f"**{proof.caught} of {len(proof.verdicts)} caught** in {proof.seconds}s wall "
        f"({workers} behave processes at a time).",
        "",
        "| mutation | provider | what breaks | caught | by (scenario — failing step) | run |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for v in proof.verdicts:
        by = "<br>".join(_cell(c) for c in v.caught_by) or _cell(v.note)
        caught = "yes" if v.caught else "**no**"
        lines.append(f"| `{v.name}` | {v.provider} | {_cell(v.breaks)} | {caught} | {by} | {v.seconds}s |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report(proof: Proof, workers: int) -> str:
    rows = [f"baseline: {'ok' if proof.baseline_ok else 'BROKEN — ' + proof.problem}"]
    for v in proof.verdicts:
        first = v.caught_by[0] if v.caught_by else v.note
        rows.append(f"  {'caught' if v.caught else 'MISSED':7} {v.name:38} {v.seconds:6.1f}s  {first[:150]}")
    total = len(proof.verdicts)
    rows.append(
        f"{proof.caught} of {total} behavioural mutations caught in {proof.seconds}s ({workers} workers)"
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", action="append", help="prove only these mutations (repeatable)")
    parser.add_argument(
        "--workers", type=int, default=None, help=f"behave processes at a time ({DEFAULT_WORKERS})"
    )
    parser.add_argument(
        "--out", type=Path, default=GENERATED, help="generated markdown (default %(default)s)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; do not write the markdown")
    parser.add_argument(
        "--reports", type=Path, default=Path(os.environ.get("E2E_REPORTS_DIR", REPO / "reports"))
    )
    parser.add_argument("--also", default="", help=argparse.SUPPRESS)  # tests: break every run, baseline too
    args = parser.parse_args(argv)
    entries = catalogue()
    if args.only:
        unknown = sorted(set(args.only) - {e.name for e in entries})
        if unknown:
            parser.error(f"not in the behavioural catalogue: {', '.join(unknown)}")
        entries = [e for e in entries if e.name in args.only]
    workers = args.workers or _workers()
    out_dir = args.reports / "mutations-behaviour"
    proof = prove(entries, out_dir, also=args.also, workers=workers)
    print(report(proof, workers))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "proof.json").write_text(json.dumps(asdict(proof), indent=2, default=str))
    if not args.no_write:
        args.out.write_text(markdown(proof, workers))
        print(f"wrote {args.out}")
    print(f"{proof.caught} passed, {proof.missed} failed")
    return 0 if proof.baseline_ok and proof.missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
