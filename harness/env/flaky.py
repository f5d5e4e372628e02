"""`@flaky`: the only way a step may retry, and every retry is on the record.

A scenario (or feature) tagged `@flaky` lets each of its steps retry with
tenacity, bounded by attempts and wall time. Each retry records the step, the
attempt and the reason; the records are attached to the report and counted
in `reports/flaky-retries.json` for the metrics. Untagged scenarios run every
step exactly once.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_exponential

from harness.env import report

MAX_ATTEMPTS = 3
MAX_SECONDS = 30.0
_WRAPPED = "__flaky_wrapped__"


@dataclass(frozen=True)
class RetryRecord:
    scenario: str
    step: str
    attempt: int
    reason: str


def _records(context) -> list[RetryRecord]:
    if not hasattr(context, "flaky_records"):
        context.flaky_records = []
    return context.flaky_records


def install(context) -> None:
    """Wrap every registered step function once; the wrapper retries only under @flaky."""
    registry = context._runner.step_registry  # noqa: SLF001 - behave has no public hook for this
    for matchers in registry.steps.values():
        for matcher in matchers:
            if getattr(matcher.func, _WRAPPED, False):
                continue
            matcher.func = _retrying(matcher.func)


def _retrying(func):
    @functools.wraps(func)
    def step(context, *args, **kwargs):
        if not getattr(context, "flaky_enabled", False):
            return func(context, *args, **kwargs)
        records = _records(context)
        for attempt in Retrying(
            stop=stop_after_attempt(MAX_ATTEMPTS) | stop_after_delay(MAX_SECONDS),
            wait=wait_exponential(multiplier=0.2, max=2),
            retry=retry_if_exception_type(AssertionError),
            reraise=True,
            before_sleep=lambda state: records.append(
                RetryRecord(
                    scenario=context.scenario.name,
                    step=getattr(context, "flaky_step", "?"),
                    attempt=state.attempt_number,
                    reason=str(state.outcome.exception())[:500],
                )
            ),
        ):
            with attempt:
                return func(context, *args, **kwargs)

    setattr(step, _WRAPPED, True)
    return step


def begin_scenario(context, scenario) -> None:
    install(context)
    context.flaky_enabled = "flaky" in scenario.effective_tags
    context.flaky_scenario_records = len(_records(context))


def wrap_step(context, step) -> None:
    context.flaky_step = f"{step.keyword} {step.name}"


def report_retries(context) -> None:
    records = _records(context)[getattr(context, "flaky_scenario_records", 0) :]
    if records:
        report.attach_json("flaky retries", [asdict(r) for r in records])


def write_totals(context, path: Path, append: bool = False) -> None:
    """Write this run's retries; `append` keeps the first run's records on a rerun."""
    records = [asdict(r) for r in _records(context)]
    if append and path.exists():
        records = json.loads(path.read_text()).get("records", []) + records
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"retries": len(records), "at": time.time(), "records": records}, indent=2))
