"""What a run left under reports/, as Prometheus metrics: `reports/metrics.prom`, and a Pushgateway.

Every gate leaves a small JSON file behind (suite summary and behave JSON, step
retries, cold starts, the stage table, load and contract results). `export()`
reads whichever of them exist and writes one Prometheus text file. It *merges*:
series already in `metrics.prom` that this export has nothing new about are kept,
so the e2e, faults and load runs of one CI run end up in one file even though
each run of the suite overwrites the suite files. With `PUSHGATEWAY_URL` set,
the same registry is pushed (job `cos-pact-e2e`), grouped by branch and CI job.

Every value describes one run, so every metric is a gauge, named without `_total`
(a count within one run, not a counter) and in base units (seconds, not ms), so
`promtool check metrics` passes on what a run writes; a dashboard plots them over time
(see docs/observability.md and observability/grafana-dashboard.json).

    python -m harness.records.metrics_export [--reports reports] [--fresh] [--no-push]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from harness.records.outcomes import Outcome, classify, quarantined, scenario_results

JOB = "cos-pact-e2e"
OUTPUT = "metrics.prom"
MODE_LABEL = "allure.label.mode:"
BACKEND_LABEL = "allure.label.backend:"
# A run whose scenarios all carry one of these tags is that stage's suite (label `suite`).
SUITE_TAGS = {"faults": "faults", "load": "load", "contract": "contracts", "compose-only": "compose"}
SCENARIO_STATUSES = ("passed", "flaky", "failed", "quarantined", "skipped")
# Pushgateway grouping, first variable set wins (GitHub Actions, GitLab CI, Jenkins).
BRANCH_ENV = ("METRICS_BRANCH", "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BRANCH_NAME")
INSTANCE_ENV = ("METRICS_INSTANCE", "GITHUB_JOB", "CI_JOB_NAME")
RUN_ENV = ("E2E_RUN_ID", "GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILD_ID")


@dataclass(frozen=True)
class Metric:
    name: str
    help: str
    labels: tuple[str, ...] = ()
    # Labels that vary *within* one observation (e.g. status): an export replaces all of them together.
    dims: tuple[str, ...] = ()


SUITE = ("suite", "mode", "backend")
METRICS: tuple[Metric, ...] = (
    Metric("contract_test_failures", "Pact gate checks that failed in the last contract run."),
    Metric("contract_gate_step_passed", "1 if this Pact gate step passed, else 0.", ("step",), ("step",)),
    Metric("e2e_suite_duration_seconds", "Wall time of the last behave run (first run + rerun).", SUITE),
    Metric(
        "e2e_scenarios",
        "Scenarios of the last behave run by final status (passed = first time; flaky = on the rerun).",
        (*SUITE, "status"),
        ("status",),
    ),
    Metric("scenario_reruns", "Scenarios that failed and were rerun once.", SUITE),
    Metric("flaky_scenarios", "Scenarios that passed only on the rerun.", SUITE),
    Metric("quarantined_failures", "@quarantine scenarios that failed (not gating).", SUITE),
    Metric("flaky_step_retries", "Step retries under @flaky (tenacity).", SUITE),
    Metric("quarantined_scenarios", "@quarantine scenarios in the run.", ("suite", "backend")),
    Metric(
        "quarantine_max_age_seconds",
        "Age of the oldest @quarantine-since tag among the run's quarantined scenarios, seconds.",
        ("suite", "backend"),
    ),
    Metric("k6_threshold_breaches", "k6 thresholds breached by the last load run.", ("mode", "backend")),
    Metric(
        "k6_http_req_duration_p95_seconds",
        "p95 of measured k6 requests (sending + waiting + receiving), seconds.",
        ("mode", "backend", "kind"),
        ("kind",),
    ),
    Metric(
        "k6_http_req_duration_p95_budget_seconds",
        "The p95 budget the load sentence set, seconds.",
        ("mode", "backend", "kind"),
        ("kind",),
    ),
    Metric("k6_dropped_iterations", "Iterations k6 could not start on schedule.", ("mode", "backend")),
    Metric(
        "cold_start_seconds",
        "Launch to ready / to the first verified decision, per mode.",
        ("mode", "backend", "phase"),
        ("phase",),
    ),
    Metric("ci_stage_duration_seconds", "Wall time of a CI stage.", ("stage",)),
    Metric(
        "ci_stage_passed",
        "1 if the CI stage passed, 0 if it failed (absent stages omitted).",
        ("stage",),
    ),
    Metric(
        "ci_stage_tests",
        "Tests/scenarios a CI stage counted, by result.",
        ("stage", "result"),
        ("result",),
    ),
    Metric("metrics_export_timestamp_seconds", "When these metrics were exported (Unix time)."),
)
METRIC_NAMES = frozenset(m.name for m in METRICS)
_BY_NAME = {m.name: m for m in METRICS}

Series = dict[str, dict[tuple[str, ...], float]]  # metric → label values (in Metric.labels order) → value


class _Collector:
    def __init__(self) -> None:
        self.series: Series = {}

    def set(self, name: str, value: float | None, **labels: str) -> None:
        if value is None:
            return
        metric = _BY_NAME[name]
        if set(labels) != set(metric.labels):
            raise ValueError(f"{name} takes labels {metric.labels}, got {sorted(labels)}")
        self.series.setdefault(name, {})[tuple(str(labels[k]) for k in metric.labels)] = float(value)


def _json(path: Path) -> Any:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text() or "null")
    except json.JSONDecodeError as exc:
        print(f"metrics: ignoring {path}: {exc}", file=sys.stderr)
        return None


# --- the behave run: suite summary, behave JSON, retries ------------------------------------------


def _label(tags: Iterable[str], prefix: str) -> str | None:
    return next((t[len(prefix) :] for t in tags if t.startswith(prefix)), None)


def _mode(tags: list[str]) -> str:
    explicit = _label(tags, MODE_LABEL)
    if explicit:
        return explicit
    if "integrated" in tags:
        return "integrated"
    return "standalone" if "standalone" in tags else "none"


def _suite_of(first: dict[str, tuple[str, list[str]]]) -> str:
    """The stage a behave run belongs to, read from its scenarios' tags (not from the environment)."""
    ran = [tags for status, tags in first.values() if status not in ("skipped", "untested")] or [
        tags for _, tags in first.values()
    ]
    kinds = {next((SUITE_TAGS[t] for t in tags if t in SUITE_TAGS), "e2e") for tags in ran}
    if len(kinds) == 1:
        return kinds.pop()
    return "all" if kinds else "e2e"


def _backend_of(first: dict[str, tuple[str, list[str]]], env: Mapping[str, str]) -> str:
    for _, tags in first.values():
        found = _label(tags, BACKEND_LABEL)
        if found:
            return found
    return env.get("E2E_BACKEND") or "unknown"


def _run_mode(modes: set[str]) -> str:
    real = modes - {"none"}
    if len(real) == 1:
        return real.pop()
    return "all" if real else "none"


def _counts(outcome: Outcome) -> dict[str, int]:
    return {
        "passed": len(outcome.passed) - len(outcome.flaky),
        "flaky": len(outcome.flaky),
        "failed": len(outcome.failed),
        "quarantined": len(outcome.quarantined_failed),
        "skipped": len(outcome.skipped),
    }


def _behave_run(reports: Path, out: _Collector, env: Mapping[str, str]) -> None:
    summary = _json(reports / "suite-summary.json")
    first_path, rerun_path = reports / "behave.json", reports / "behave-rerun.json"
    first = scenario_results(first_path)
    rerun: dict = {}
    # run_suite writes behave-rerun.json only when it reruns: an older one belongs to an earlier run.
    if first and rerun_path.exists() and rerun_path.stat().st_mtime >= first_path.stat().st_mtime:
        rerun = scenario_results(rerun_path)
    if not first and not isinstance(summary, dict):
        return
    suite, backend = _suite_of(first), _backend_of(first, env)

    by_mode: dict[str, dict] = {}
    for key, value in first.items():
        by_mode.setdefault(_mode(value[1]), {})[key] = value
    for mode, scenarios in by_mode.items():
        outcome = classify(scenarios, rerun)
        labels = {"suite": suite, "mode": mode, "backend": backend}
        for status, n in _counts(outcome).items():
            out.set("e2e_scenarios", n, status=status, **labels)
        out.set("flaky_scenarios", len(outcome.flaky), **labels)
        out.set("quarantined_failures", len(outcome.quarantined_failed), **labels)
        out.set("scenario_reruns", sum(1 for k in scenarios if k in rerun), **labels)

    if isinstance(summary, dict):
        run_labels = {"suite": suite, "mode": _run_mode(set(by_mode)), "backend": backend}
        out.set("e2e_suite_duration_seconds", summary.get("wall_s"), **run_labels)
        if not first:  # behave JSON gone: totals from the summary alone
            all_labels = {**run_labels, "mode": "all"}
            flaky = len(summary.get("flaky", []))
            quarantined_failed = len(summary.get("quarantined_failed", []))
            counts = {
                "passed": summary.get("passed", 0) - flaky,
                "flaky": flaky,
                "failed": summary.get("failed", 0),
                "quarantined": quarantined_failed,
                "skipped": summary.get("skipped", 0),
            }
            for status, n in counts.items():
                out.set("e2e_scenarios", n, status=status, **all_labels)
            out.set("flaky_scenarios", flaky, **all_labels)
            out.set("quarantined_failures", quarantined_failed, **all_labels)

    if first:
        ages = [q.age_days for q in quarantined(first, classify(first, rerun))]
    else:
        ages = [q.get("age_days") for q in (summary or {}).get("quarantined", [])]
    out.set("quarantined_scenarios", len(ages), suite=suite, backend=backend)
    known = [a for a in ages if a is not None]
    oldest = max(known) * 86400 if known else None  # base unit: seconds (the dashboard shows days)
    out.set("quarantine_max_age_seconds", oldest, suite=suite, backend=backend)

    _retries(reports, first, by_mode, suite, backend, out)


def _retries(reports: Path, first: dict, by_mode: dict, suite: str, backend: str, out: _Collector) -> None:
    data = _json(reports / "flaky-retries.json")
    if not isinstance(data, dict):
        return
    records = data.get("records") or []
    per_mode = dict.fromkeys(by_mode, 0)
    modes_by_name = {key.split(" ", 1)[-1]: _mode(tags) for key, (_, tags) in first.items()}
    for record in records:
        mode = modes_by_name.get(record.get("scenario", ""), "all")
        per_mode[mode] = per_mode.get(mode, 0) + 1
    if not records and data.get("retries"):
        per_mode["all"] = int(data["retries"])
    if not per_mode:
        per_mode["all"] = 0
    for mode, n in per_mode.items():
        out.set("flaky_step_retries", n, suite=suite, mode=mode, backend=backend)


# --- cold starts, stages, load, contracts ---------------------------------------------------------


def _cold_starts(reports: Path, out: _Collector, env: Mapping[str, str]) -> None:
    data = _json(reports / "cold-starts.json")
    if not isinstance(data, dict):
        return
    backend = _backend_of(scenario_results(reports / "behave.json"), env)
    for mode, timings in data.items():
        if not isinstance(timings, dict):
            continue
        out.set(
            "cold_start_seconds", timings.get("launch_to_ready_s"), mode=mode, backend=backend, phase="ready"
        )
        out.set(
            "cold_start_seconds",
            timings.get("launch_to_first_verified_decision_s"),
            mode=mode,
            backend=backend,
            phase="first_decision",
        )


def _stages(reports: Path, out: _Collector) -> None:
    data = _json(reports / "stages.json")
    if not isinstance(data, list):
        return
    for stage in data:
        name, status = stage.get("name"), stage.get("status")
        if not name or status == "absent":
            continue
        out.set("ci_stage_duration_seconds", stage.get("seconds"), stage=name)
        if status in ("passed", "failed"):
            out.set("ci_stage_passed", 1 if status == "passed" else 0, stage=name)
        out.set("ci_stage_tests", stage.get("passed", 0), stage=name, result="passed")
        out.set("ci_stage_tests", stage.get("failed", 0), stage=name, result="failed")


def _seconds(ms: float | None) -> float | None:
    """load-results.json keeps k6's milliseconds; Prometheus wants base units."""
    return None if ms is None else float(ms) / 1000.0


def _load(reports: Path, out: _Collector) -> None:
    data = _json(reports / "load-results.json")
    if not isinstance(data, list):
        return
    latest: dict[tuple[str, str], dict] = {}
    for entry in data:  # the file is appended to: the last entry per (mode, backend) is the latest run
        if isinstance(entry, dict):
            latest[(str(entry.get("mode", "unknown")), str(entry.get("backend", "unknown")))] = entry
    for (mode, backend), entry in latest.items():
        labels = {"mode": mode, "backend": backend}
        out.set("k6_threshold_breaches", len(entry.get("breaches") or []), **labels)
        out.set("k6_dropped_iterations", entry.get("dropped_iterations"), **labels)
        for kind in ("read", "write"):
            p95, budget = _seconds(entry.get(f"{kind}_p95_ms")), _seconds(entry.get(f"{kind}_budget_ms"))
            out.set("k6_http_req_duration_p95_seconds", p95, kind=kind, **labels)
            out.set("k6_http_req_duration_p95_budget_seconds", budget, kind=kind, **labels)


def _contracts(reports: Path, out: _Collector) -> None:
    data = _json(reports / "contract-results.json")
    steps = None
    if isinstance(data, dict):
        out.set("contract_test_failures", data.get("failures"))
        steps = data.get("steps")
    else:
        # Until the contract stage writes contract-results.json: the gate's own step list.
        steps = _json(reports / "contracts" / "gate.json")
        if isinstance(steps, list):
            out.set("contract_test_failures", sum(1 for s in steps if not s.get("ok")))
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict) and step.get("step"):
            out.set("contract_gate_step_passed", 1 if step.get("ok") else 0, step=step["step"])


def collect(reports_dir: Path | str, env: Mapping[str, str] | None = None) -> Series:
    """Every series the files under `reports_dir` describe (nothing merged yet)."""
    reports, env = Path(reports_dir), os.environ if env is None else env
    out = _Collector()
    _behave_run(reports, out, env)
    _cold_starts(reports, out, env)
    _stages(reports, out)
    _load(reports, out)
    _contracts(reports, out)
    return out.series


# --- merge, write, push ------------------------------------------------------------------------------


def read_textfile(path: Path) -> Series:
    """The series of a metrics.prom written earlier (only metrics this module defines, in their shape)."""
    series: Series = {}
    if not path.exists():
        return series
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            metric = _BY_NAME.get(sample.name)
            if metric is None or set(sample.labels) != set(metric.labels):
                continue
            series.setdefault(metric.name, {})[tuple(sample.labels[k] for k in metric.labels)] = sample.value
    return series


def merge(old: Series, new: Series) -> Series:
    """`new` wins; an old series survives only if `new` has nothing for its group (labels minus dims)."""
    merged: Series = {}
    for name in METRIC_NAMES:
        metric = _BY_NAME[name]
        keep = [i for i, label in enumerate(metric.labels) if label not in metric.dims]

        def group(values: tuple[str, ...], keep: list[int] = keep) -> tuple[str, ...]:
            return tuple(values[i] for i in keep)

        fresh = new.get(name, {})
        groups = {group(v) for v in fresh}
        combined = {v: x for v, x in old.get(name, {}).items() if group(v) not in groups}
        combined.update(fresh)
        if combined:
            merged[name] = combined
    return merged


def merge_textfiles(sources: list[Path], target: Path) -> Path:
    """Fold several metrics.prom files into `target`, later files winning per series group (see merge)."""
    series = read_textfile(target)
    for source in sources:
        if source.resolve() != target.resolve():
            series = merge(series, read_textfile(source))
    target.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(target), registry_of(series))
    return target


def registry_of(series: Series) -> CollectorRegistry:
    registry = CollectorRegistry()
    for metric in METRICS:
        values = series.get(metric.name)
        if not values:
            continue
        gauge = Gauge(metric.name, metric.help, metric.labels, registry=registry)
        for labels, value in sorted(values.items()):
            (gauge.labels(*labels) if metric.labels else gauge).set(value)
    return registry


def grouping_key(env: Mapping[str, str]) -> dict[str, str]:
    """Pushgateway group: branch and CI job when the environment says; the run id only if asked.

    One group per (branch, CI job) means each push replaces that job's previous values, so
    Prometheus sees one series per branch and job whose history is the CI trend.
    """

    def first(names: tuple[str, ...]) -> str | None:
        return next((env[n] for n in names if env.get(n)), None)

    key = {"branch": first(BRANCH_ENV), "ci_job": first(INSTANCE_ENV)}
    if env.get("PUSHGATEWAY_GROUP_BY_RUN") == "1":
        key["ci_run"] = first(RUN_ENV)
    return {k: v for k, v in key.items() if v}


def push(registry: CollectorRegistry, env: Mapping[str, str]) -> bool:
    """Push to PUSHGATEWAY_URL if set. A failed push is reported, never raised: metrics must not fail CI."""
    url = (env.get("PUSHGATEWAY_URL") or "").strip()
    if not url:
        return False
    try:
        push_to_gateway(url, job=JOB, registry=registry, grouping_key=grouping_key(env), timeout=10)
    except Exception as exc:  # noqa: BLE001 - any transport error
        print(f"metrics: push to {url} failed: {exc}", file=sys.stderr)
        return False
    return True


def push_textfile(path: Path, env: Mapping[str, str]) -> bool:
    """Push the series a metrics.prom holds, as written (the observability stage pushes the run's file)."""
    return push(registry_of(read_textfile(path)), env)


def export(
    reports_dir: Path | str = "reports",
    *,
    fresh: bool = False,
    push_metrics: bool = True,
    env: Mapping[str, str] | None = None,
    now: float | None = None,
) -> Path:
    """Write `<reports_dir>/metrics.prom` from whatever the run left there; push it if configured."""
    reports = Path(reports_dir)
    env = os.environ if env is None else env
    reports.mkdir(parents=True, exist_ok=True)
    target = reports / OUTPUT
    series = collect(reports, env)
    series["metrics_export_timestamp_seconds"] = {(): time.time() if now is None else now}
    if not fresh:
        series = merge(read_textfile(target), series)
    registry = registry_of(series)
    write_to_textfile(str(target), registry)
    if push_metrics:
        push(registry, env)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", default="reports", help="the reports directory (default: reports)")
    parser.add_argument(
        "--fresh", action="store_true", help="do not keep series from an earlier metrics.prom"
    )
    parser.add_argument("--no-push", action="store_true", help="do not push even if PUSHGATEWAY_URL is set")
    parser.add_argument(
        "--merge-from",
        type=Path,
        help="first fold every metrics.prom under this folder into <reports>/metrics.prom "
        "(CI: the jobs' artifacts, so one push holds the whole run)",
    )
    args = parser.parse_args(argv)
    if args.merge_from:
        merge_textfiles(sorted(args.merge_from.rglob(OUTPUT)), Path(args.reports) / OUTPUT)
    path = export(args.reports, fresh=args.fresh, push_metrics=not args.no_push)
    count = sum(len(v) for v in read_textfile(path).values())
    print(f"metrics: {count} series in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
