"""Scenario outcomes from behave's JSON output: passed, failed, flaky, quarantined, skipped.

Read by the suite runner (to decide the verdict), the metrics export and the
repeat tally alike, so "flaky" and "quarantined" mean one thing everywhere:
flaky = failed, then passed on the rerun; a `@quarantine` failure is listed
but never gates; every other failure gates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

QUARANTINE_TAG = "quarantine"
QUARANTINE_SINCE = "quarantine-since:"


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


@dataclass(frozen=True)
class Quarantined:
    """A `@quarantine` scenario: how long it has been quarantined and how it did this run."""

    scenario: str
    since: str | None  # the date of its @quarantine-since:YYYY-MM-DD tag, as written
    age_days: int | None  # None: no tag, or not a YYYY-MM-DD date
    result: str  # passed | flaky | failed | skipped

    def describe(self) -> str:
        if self.since is None:
            age = "age unknown (no @quarantine-since tag)"
        elif self.age_days is None:
            age = f"since {self.since!r}, age unknown (not a YYYY-MM-DD date)"
        else:
            age = f"since {self.since}, {self.age_days} days"
        result = "failed (not gating)" if self.result == "failed" else self.result
        return f"{self.scenario} — {age}; {result}"


def quarantined(first: dict, outcome: Outcome, today: date | None = None) -> list[Quarantined]:
    """Every `@quarantine` scenario of the run, oldest quarantine first (unknown ages last)."""
    today = today or date.today()
    found: list[Quarantined] = []
    for key, (_status, tags) in first.items():
        if QUARANTINE_TAG not in tags:
            continue
        since = next((t[len(QUARANTINE_SINCE) :] for t in tags if t.startswith(QUARANTINE_SINCE)), None)
        try:
            age = (today - date.fromisoformat(since)).days if since else None
        except ValueError:
            age = None
        if key in outcome.flaky:
            result = "flaky"
        elif key in outcome.passed:
            result = "passed"
        elif key in outcome.skipped:
            result = "skipped"
        else:
            result = "failed"
        found.append(Quarantined(key, since, age, result))
    return sorted(found, key=lambda q: (q.age_days is None, -(q.age_days or 0), q.scenario))
