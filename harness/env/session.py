"""One behave run: backend choice, the environments started so far, cold starts.

The cold start of each mode is measured here — launch → ready (from the
backend) and launch → first verified decision (a decision whose policy digest
is the one COS attests, and in integrated mode the one MC serves) — and kept
for the report.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cosclient import CompanyOSClient
from harness.env import plan, restore
from harness.env.backends import open_environment
from harness.env.environments import Environment
from harness.kit.readiness import wait_until

FIRST_DECISION_BUDGET_S = 30.0


@dataclass
class Session:
    backend: str
    userdata: dict[str, str]
    started: dict[str, Environment] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    cold_starts: dict[str, dict[str, float]] = field(default_factory=dict)
    started_at: float = field(default_factory=time.monotonic)
    planned: list[plan.Planned] = field(default_factory=list)

    @classmethod
    def from_userdata(cls, userdata: dict[str, str]) -> Session:
        return cls(backend=userdata.get("backend", "process"), userdata=userdata)


def make_plan(session: Session, context) -> list[plan.Planned]:
    """Decide (and print, and write to reports/plan.json) what this run will do; apply backend skips."""
    session.planned = plan.make(context._runner.features, context.config, session.backend, session.userdata)  # noqa: SLF001
    print(plan.describe(session.planned, session.backend), flush=True)
    name = "plan-rerun.json" if session.userdata.get("rerun") else "plan.json"  # keep the first run's plan
    plan.write(session.planned, Path(session.userdata.get("reports_dir", "reports")) / name)
    return session.planned


def preflight_if_external(session: Session) -> None:
    """On backend=external, check the deployment before the first scenario (harness/env/preflight.py)."""
    if session.backend != "external":
        return
    from harness.env import preflight
    from harness.env.backends.external import external_environment

    needed = plan.modes_needed(session.planned)
    preflight.run({mode: external_environment(mode, session.userdata) for mode in needed}, session.userdata)


def first_verified_decision(env: Environment) -> None:
    """Log in and ask for decisions until one comes from the pack COS should enforce."""
    client = CompanyOSClient(env.endpoints.cos_url)
    c = env.credentials
    try:

        def verified() -> bool:
            if client.token is None and client.login(c.cos_user, c.cos_password).status != 200:
                return False
            attested = client.attestation()
            if attested.status != 200:
                return False
            if env.integrated and attested.body.get("source") != "mc":
                return False
            decision = client.authorize({"user": c.cos_user, "roles": ["viewer"]}, "read")
            return decision.status == 200 and decision.body["policy"]["digest"] == attested.body["digest"]

        wait_until("the first verified decision", verified, FIRST_DECISION_BUDGET_S, interval_s=0.05)
    finally:
        client.close()


@contextmanager
def environment(session: Session, mode: str) -> Iterator[Environment]:
    launched = time.monotonic()
    with open_environment(session.backend, mode, session.userdata) as env:
        ready = time.monotonic() - launched
        first_verified_decision(env)
        timings = {
            "launch_to_ready_s": round(ready, 3),
            "launch_to_first_verified_decision_s": round(time.monotonic() - launched, 3),
            **{k: round(v, 3) for k, v in env.timings.items()},
        }
        session.cold_starts[mode] = timings
        env.timings.update(timings)
        env.found = restore.capture(env)
        session.started[mode] = env
        try:
            yield env
        finally:
            session.started.pop(mode, None)


def leave_as_found(world) -> list[str]:
    """After every scenario: faults off, services up, MC's policy and COS's health as found."""
    return restore.restore(world.env, world.env.found)


def write_run_files(session: Session, context) -> None:
    """Files the run leaves for the summary and the metrics: cold starts and retries."""
    from harness.env import flaky

    out = Path(session.userdata.get("reports_dir", "reports"))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "cold-starts.json"
    merged = json.loads(path.read_text()) if path.exists() and session.userdata.get("rerun") else {}
    merged.update(session.cold_starts)
    path.write_text(json.dumps(merged, indent=2))
    flaky.write_totals(context, out / "flaky-retries.json", append=bool(session.userdata.get("rerun")))
