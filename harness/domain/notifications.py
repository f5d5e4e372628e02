"""The alert chain, end to end: a run's metrics → Pushgateway → Prometheus rules → Alertmanager → webhook.

Used by features/notifications.feature (one function per step) and by the observability
stage (`python -m harness.domain.notifications push-run`), which pushes the real run's
reports/metrics.prom and lists what fired.

A *run* here is a folder of the files a run leaves (stages.json, contract-results.json,
…). `broken_contract_run` and `green_run` write those files the way the contract stage
and harness/gates/stages.py do, into a temporary folder — never into reports/, whose files
describe the real run. From there on everything is real: harness/records/metrics_export.py turns
them into metrics.prom, which is pushed to a real Pushgateway, scraped by a real
Prometheus evaluating observability/alerts.yml, and routed by a real Alertmanager.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness.env import report
from harness.kit import readiness
from harness.kit.alert_receiver import Notification
from harness.kit.obs_stack import ObsStack, running
from harness.records import metrics_export

REPORTS = Path(os.environ.get("E2E_REPORTS_DIR", "reports"))
BRANCH = "local"
# Alertmanager's group_wait (observability/alertmanager.yml) plus one evaluation and a margin:
# how long after Prometheus has judged a run a notification about it would have arrived.
NOTIFY_SETTLE_S = 4.0
JUDGE_BUDGET_S = 20.0


@dataclass
class Run:
    """A run's files and the labels its push carries; `pushed_at` is monotonic, set by `push`."""

    folder: Path
    run_id: str
    ci_job: str
    pushed_at: float | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def env(self, stack: ObsStack) -> dict[str, str]:
        """The environment metrics_export reads for the push: where, and the grouping key."""
        return {
            "PUSHGATEWAY_URL": stack.pushgateway_url,
            "PUSHGATEWAY_GROUP_BY_RUN": "1",
            "METRICS_BRANCH": BRANCH,
            "METRICS_INSTANCE": self.ci_job,
            "E2E_RUN_ID": self.run_id,
        }


def _new_run(kind: str, ci_job: str, stages: list[dict], contract: dict | None) -> Run:
    """The run's files in reports/observability/runs/<run id>/ (evidence of exactly what was pushed)."""
    run_id = f"{kind}-{uuid.uuid4().hex[:8]}"
    folder = REPORTS / "observability" / "runs" / run_id
    folder.mkdir(parents=True)
    (folder / "stages.json").write_text(json.dumps(stages, indent=2))
    if contract is not None:
        (folder / "contract-results.json").write_text(json.dumps(contract, indent=2))
    return Run(folder=folder, run_id=run_id, ci_job=ci_job)


def broken_contract_run() -> Run:
    """A run whose contract gate failed: provider verification of MC broke (1 failing Pact check)."""
    steps = [
        {"step": "consumer tests + drift", "ok": True, "seconds": 1.1},
        {"step": "verify maestro-conductor", "ok": False, "seconds": 2.9},
        {"step": "verify companyos", "ok": True, "seconds": 2.3},
        {"step": "scrub", "ok": True, "seconds": 0.0},
    ]
    stages = [
        {"name": "unit", "status": "passed", "seconds": 80.0, "passed": 450, "failed": 0, "note": ""},
        {"name": "contracts", "status": "failed", "seconds": 60.0, "passed": 4, "failed": 1, "note": ""},
    ]
    return _new_run("broken-contract", "contracts", stages, {"failures": 1, "steps": steps})


def green_run() -> Run:
    """A run where every gate passed (contracts, e2e, load): nothing to tell anyone."""
    steps = [{"step": s, "ok": True, "seconds": 1.0} for s in ("consumer tests + drift", "scrub")]
    stages = [
        {"name": n, "status": "passed", "seconds": 30.0, "passed": 5, "failed": 0, "note": ""}
        for n in ("unit", "contracts", "e2e", "load")
    ]
    return _new_run("green", "all", stages, {"failures": 0, "steps": steps})


def push(stack: ObsStack, run: Run) -> Run:
    """metrics.prom from the run's files (harness/records/metrics_export.py), pushed to the Pushgateway."""
    env = run.env(stack)
    path = metrics_export.export(run.folder, fresh=True, push_metrics=False, env=env)
    run.pushed_at = time.monotonic()
    if not metrics_export.push_textfile(path, env):
        raise AssertionError(f"pushing {path} to {stack.pushgateway_url} failed (see the error above)")
    return run


def about(stack: ObsStack, run: Run) -> list[Notification]:
    return [n for n in stack.receiver.notifications() if n.run == run.run_id]


def naming(stack: ObsStack, run: Run, gate: str) -> Notification | None:
    """The first notification labelled with `gate` and the run whose text also names the run."""
    return next(
        (n for n in about(stack, run) if n.gate == gate and run.run_id in n.annotations.get("summary", "")),
        None,
    )


def expect_notification(stack: ObsStack, run: Run, gate: str, within_s: float) -> Notification:
    """The first notification naming `gate` and the run, arriving within `within_s` of the push."""
    assert run.pushed_at is not None, "the run was not pushed"

    def named() -> readiness.Observed:
        seen = about(stack, run)
        found = naming(stack, run, gate) is not None
        return readiness.Observed(found, f"{len(seen)} about the run: {[n.describe() for n in seen]}")

    took = readiness.wait_within(
        f"a notification naming gate {gate!r} and run {run.run_id}", named, run.pushed_at, within_s
    )
    hit = naming(stack, run, gate)
    assert hit is not None
    run.timings["delivery_s"] = round(hit.received_at - run.pushed_at, 2)
    run.timings["checked_after_s"] = round(took, 2)
    evidence = {
        "run": run.run_id,
        "gate": gate,
        "budget_s": within_s,
        **run.timings,
        "notifications": [n.describe() for n in about(stack, run)],
    }
    report.attach_json("notification received", evidence)
    record(REPORTS, "alert-delivery", evidence)
    return hit


def expect_no_notification(stack: ObsStack, run: Run) -> None:
    """Prometheus scraped the run and evaluated every rule since, Alertmanager had time: nothing came."""
    assert run.pushed_at is not None, "the run was not pushed"
    selector = f'{{ci_run="{run.run_id}"}}'

    def scraped() -> bool:
        return bool(stack.query(f"ci_stage_passed{selector}"))

    readiness.wait_until(f"Prometheus holding run {run.run_id}'s metrics", scraped, JUDGE_BUDGET_S, 0.1)
    seen_at = time.time()
    readiness.wait_until(
        "every rule group evaluated after the run was scraped",
        lambda: stack.rules_evaluated_since(seen_at),
        JUDGE_BUDGET_S,
        0.1,
    )
    firing = stack.query(f"ALERTS{selector}")
    assert not firing, f"alerts fire for a green run: {[a['metric'] for a in firing]}"
    judged = time.monotonic()
    deadline = judged + NOTIFY_SETTLE_S
    while time.monotonic() < deadline:  # bounded watch for a notification that must not come
        assert not about(stack, run), f"a green run notified: {[n.describe() for n in about(stack, run)]}"
        time.sleep(0.1)
    assert not about(stack, run), f"a green run notified: {[n.describe() for n in about(stack, run)]}"
    run.timings["judged_after_s"] = round(judged - run.pushed_at, 2)
    run.timings["watched_s"] = NOTIFY_SETTLE_S
    report.attach_json("no notification (green run)", {"run": run.run_id, **run.timings})


def record(reports_dir: Path, name: str, value: object) -> Path:
    """reports/observability/<name>.json (what the closing note quotes: delivery time, rules)."""
    target = reports_dir / "observability" / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(value, indent=2, default=str))
    return target


@contextmanager
def observability_stack(reports_dir: Path, *, notify_team: bool) -> Iterator[ObsStack]:
    """A stack whose logs land in reports/observability/logs/.

    `notify_team` adds the team's chat webhook (ALERT_WEBHOOK_URL, set in the GitHub workflow)
    beside the local receiver — for the real run only: the scenarios' made-up broken runs must
    not page anyone.
    """
    with running(
        reports_dir / "observability" / "logs",
        lifetime_s=120,
        extra_webhook=os.environ.get("ALERT_WEBHOOK_URL") if notify_team else None,
    ) as running_stack:
        yield running_stack


def start_for_scenario(context) -> ObsStack:
    """The stack for a behave scenario (local receiver only), stopped by the scenario's cleanup."""
    manager = observability_stack(REPORTS, notify_team=False)
    stack = manager.__enter__()
    context.add_cleanup(manager.__exit__, None, None, None)
    return stack


# --- the stage: push the real run --------------------------------------------------------------------


def push_real_run(reports_dir: Path) -> dict:
    """Push this run's reports/metrics.prom; once Prometheus judged it, list what fired and what was sent."""
    metrics = metrics_export.export(reports_dir, push_metrics=False)  # refreshed from the run's files
    run_id = (
        os.environ.get("E2E_RUN_ID") or os.environ.get("GITHUB_RUN_ID") or f"local-{uuid.uuid4().hex[:8]}"
    )
    run = Run(folder=reports_dir, run_id=run_id, ci_job=os.environ.get("METRICS_INSTANCE", "all"))
    with observability_stack(reports_dir, notify_team=True) as obs:
        env = run.env(obs)
        run.pushed_at = time.monotonic()
        if not metrics_export.push_textfile(metrics, env):
            raise SystemExit(f"observability: pushing {metrics} failed")
        selector = f'{{ci_run="{run.run_id}"}}'
        readiness.wait_until(
            f"Prometheus holding run {run.run_id}",
            lambda: bool(obs.query(f"metrics_export_timestamp_seconds{selector}")),
            JUDGE_BUDGET_S,
            0.1,
        )
        seen_at = time.time()
        readiness.wait_until(
            "rules evaluated", lambda: obs.rules_evaluated_since(seen_at), JUDGE_BUDGET_S, 0.1
        )
        firing = [a["metric"] for a in obs.query(f'ALERTS{{ci_run="{run.run_id}",alertstate="firing"}}')]
        if firing:
            readiness.wait_until(
                "a notification for each firing alert",
                lambda: {a["alertname"] for a in firing} <= {n.alertname for n in about(obs, run)},
                JUDGE_BUDGET_S,
                0.1,
            )
        series = sum(len(v) for v in metrics_export.read_textfile(metrics).values())
        result = {
            "run": run.run_id,
            "series_pushed": series,
            "stack_startup_s": round(obs.startup_s, 2),
            "judged_after_s": round(time.monotonic() - run.pushed_at, 2),
            "firing": firing,
            "notifications": [n.describe() for n in about(obs, run)],
        }
    record(reports_dir, "run-alerts", result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["push-run"])
    parser.add_argument("--reports", default=os.environ.get("E2E_REPORTS_DIR", "reports"))
    args = parser.parse_args(argv)
    result = push_real_run(Path(args.reports))
    print(
        f"observability: pushed {result['series_pushed']} series of run {result['run']}; "
        f"judged {result['judged_after_s']}s after the push; stack up in {result['stack_startup_s']}s"
    )
    names = ", ".join(f"{a['alertname']} (gate {a.get('gate', '?')})" for a in result["firing"]) or "none"
    print(f"observability: firing {len(result['firing'])}: {names}")
    for line in result["notifications"]:
        print(f"observability: notified: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
