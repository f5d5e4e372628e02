"""A latency-budget sentence from a feature, run for real with k6 against the environment.

The numbers live only in the Gherkin sentence: they are parsed here and handed
to k6 as thresholds. `-D load_duration_s=N` shortens the measured window (the
CI profile) without touching rate, mix or budgets. Results are attached to the
report and appended to `reports/load-results.json` for the metrics export.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from pathlib import Path

import allure
from allure_commons.types import AttachmentType

from harness.env.environments import COS, MC
from harness.env.world import World
from harness.load.runner import LoadResult, parse_load_sentence, run_load

REPO = Path(__file__).resolve().parents[2]


def check(world: World, sentence: str, userdata: dict[str, str]) -> LoadResult:
    profile, budgets = parse_load_sentence(sentence)
    if userdata.get("load_duration_s"):
        short = float(userdata["load_duration_s"])
        profile = replace(profile, duration_s=short, warmup_s=min(profile.warmup_s, max(1.0, short / 3)))
    out = (
        Path(userdata.get("reports_dir", REPO / "reports"))
        / "load"
        / f"{world.env.mode}-{uuid.uuid4().hex[:6]}"
    )
    pids = {name: pid for name, pid in world.env.control.pids().items() if name in (COS, MC)}
    c = world.env.credentials
    result = run_load(world.env.endpoints.cos_url, c.cos_user, c.cos_password, profile, budgets, out, pids)
    _attach(result)
    _record(world, result, out.parent.parent)
    world.note("load result", result.describe())
    return result


def expect_within_budget(world: World, sentence: str, userdata: dict[str, str]) -> LoadResult:
    """Run the sentence's load; fail naming every breached threshold and what k6 measured."""
    result = check(world, sentence, userdata)
    assert result.passed, "latency budget breached:\n" + result.describe()
    return result


def _attach(result: LoadResult) -> None:
    if result.summary_json.exists():
        allure.attach.file(
            str(result.summary_json), name="k6 summary (JSON)", attachment_type=AttachmentType.JSON
        )
    if result.dashboard_html is not None:
        allure.attach.file(
            str(result.dashboard_html),
            name="k6 web dashboard (latency and rates over time)",
            attachment_type=AttachmentType.HTML,
        )
    if result.summary_html.exists():
        allure.attach.file(str(result.summary_html), name="k6 report", attachment_type=AttachmentType.HTML)
    elif result.summary_md.exists():
        allure.attach.file(str(result.summary_md), name="k6 report", attachment_type=AttachmentType.TEXT)


def _record(world: World, result: LoadResult, reports: Path) -> None:
    path = reports / "load-results.json"
    entries = json.loads(path.read_text()) if path.exists() else []
    entries.append(
        {
            "mode": world.env.mode,
            "backend": world.env.backend,
            "rate": result.profile.rate,
            "duration_s": result.profile.duration_s,
            "breaches": [b.describe() for b in result.breaches],
            "read_budget_ms": result.budgets.read_p95_ms,
            "write_budget_ms": result.budgets.write_p95_ms,
            "read_p50_ms": result.reads.p50_ms,
            "read_p95_ms": result.reads.p95_ms,
            "read_p99_ms": result.reads.p99_ms,
            "write_p50_ms": result.writes.p50_ms,
            "write_p95_ms": result.writes.p95_ms,
            "write_p99_ms": result.writes.p99_ms,
            "achieved_rate": result.achieved_rate,
            "dropped_iterations": result.dropped_iterations,
            "resources": {k: v.describe() for k, v in result.resources.items()},
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries, indent=2))
