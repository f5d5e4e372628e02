"""The suite runner's verdicts, from small hand-made behave JSON files.

flaky = failed, then passed on the rerun (counted, still passing); @quarantine
failures are listed but never gate; every other failure gates; @quarantine
scenarios are listed with their age from `@quarantine-since:YYYY-MM-DD`.
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # plain `pytest` as well as `python -m pytest`
    sys.path.insert(0, str(REPO))
# noqa: E402
from harness.gates import run_suite  # noqa: E402
from harness.records import outcomes  # noqa: E402


def scenario(line: int, name: str, status: str, *tags: str) -> dict:
    return {
        "type": "scenario",
        "keyword": "Scenario",
        "name": name,
        "location": f"features/demo.feature:{line}",
        "tags": list(tags),
        "status": status,
        "steps": [],
    }


def behave_json(path: Path, *scenarios: dict, feature_tags: tuple[str, ...] = ()) -> Path:
    background = {"type": "background", "keyword": "Background", "name": "", "location": "x:1", "steps": []}
    path.write_text(
        json.dumps(
            [
                {
                    "keyword": "Feature",
                    "name": "Demo",
                    "location": "features/demo.feature:1",
                    "tags": list(feature_tags),
                    "status": "failed",
                    "elements": [background, *scenarios],
                }
            ]
        )
    )
    return path


KEY_OK = "features/demo.feature:3 steady"
KEY_FLAKY = "features/demo.feature:6 wobbly"
KEY_BROKEN = "features/demo.feature:9 broken"
KEY_QUARANTINED = "features/demo.feature:12 parked"
KEY_SKIPPED = "features/demo.feature:15 elsewhere"


@pytest.fixture
def runs(tmp_path: Path) -> tuple[dict, dict]:
    first = behave_json(
        tmp_path / "behave.json",
        scenario(3, "steady", "passed", "standalone"),
        scenario(6, "wobbly", "failed", "integrated"),
        scenario(9, "broken", "failed", "integrated"),
        scenario(12, "parked", "failed", "integrated", "quarantine", "quarantine-since:2025-01-01"),
        scenario(15, "elsewhere", "skipped", "integrated", "owns-services"),
    )
    rerun = behave_json(
        tmp_path / "behave-rerun.json",
        scenario(6, "wobbly", "passed", "integrated"),
        scenario(9, "broken", "failed", "integrated"),
        scenario(12, "parked", "failed", "integrated", "quarantine", "quarantine-since:2025-01-01"),
    )
    return outcomes.scenario_results(first), outcomes.scenario_results(rerun)


def test_scenario_results_keys_by_location_and_name_with_feature_tags_inherited(tmp_path):
    path = behave_json(
        tmp_path / "b.json", scenario(3, "steady", "passed", "standalone"), feature_tags=("load",)
    )
    assert outcomes.scenario_results(path) == {KEY_OK: ("passed", ["standalone", "load"])}


def test_scenario_results_of_a_missing_or_empty_file_is_empty(tmp_path):
    assert outcomes.scenario_results(tmp_path / "absent.json") == {}
    (tmp_path / "empty.json").write_text("")
    assert outcomes.scenario_results(tmp_path / "empty.json") == {}


def test_a_scenario_passing_only_on_the_rerun_is_flaky_and_still_passes(runs):
    outcome = outcomes.classify(*runs)
    assert outcome.flaky == [KEY_FLAKY]
    assert KEY_FLAKY in outcome.passed
    assert KEY_FLAKY not in outcome.failed


def test_a_failure_on_both_runs_is_counted_and_gates(runs):
    outcome = outcomes.classify(*runs)
    assert outcome.failed == [KEY_BROKEN]


def test_a_quarantined_failure_is_listed_but_does_not_gate(runs):
    outcome = outcomes.classify(*runs)
    assert outcome.quarantined_failed == [KEY_QUARANTINED]
    assert KEY_QUARANTINED not in outcome.failed


def test_passes_and_skips_are_sorted_out(runs):
    outcome = outcomes.classify(*runs)
    assert outcome.passed == [KEY_OK, KEY_FLAKY]
    assert outcome.skipped == [KEY_SKIPPED]


def test_without_a_rerun_a_failure_stays_a_failure(runs):
    first, _ = runs
    outcome = outcomes.classify(first, {})
    assert outcome.flaky == []
    assert outcome.failed == [KEY_FLAKY, KEY_BROKEN]


def test_a_quarantined_scenario_that_passes_on_the_rerun_is_flaky_not_quarantined(tmp_path):
    tags = ("quarantine", "quarantine-since:2025-01-01")
    first = outcomes.scenario_results(behave_json(tmp_path / "a.json", scenario(3, "q", "failed", *tags)))
    rerun = outcomes.scenario_results(behave_json(tmp_path / "b.json", scenario(3, "q", "passed", *tags)))
    outcome = outcomes.classify(first, rerun)
    assert outcome.flaky == ["features/demo.feature:3 q"]
    assert outcome.quarantined_failed == []


# --- quarantine listing ---------------------------------------------------------------------------


def test_quarantined_scenarios_are_listed_with_their_age_oldest_first(tmp_path):
    first = outcomes.scenario_results(
        behave_json(
            tmp_path / "b.json",
            scenario(3, "recent", "passed", "quarantine", "quarantine-since:2025-03-01"),
            scenario(6, "old", "failed", "quarantine", "quarantine-since:2025-01-01"),
            scenario(9, "untagged", "failed", "quarantine"),
            scenario(12, "typo", "passed", "quarantine", "quarantine-since:March"),
            scenario(15, "not quarantined", "failed"),
        )
    )
    outcome = outcomes.classify(first, {})
    listed = outcomes.quarantined(first, outcome, today=date(2025, 3, 11))
    assert [(q.scenario.split(" ", 1)[1], q.since, q.age_days, q.result) for q in listed] == [
        ("old", "2025-01-01", 69, "failed"),
        ("recent", "2025-03-01", 10, "passed"),
        ("typo", "March", None, "passed"),
        ("untagged", None, None, "failed"),
    ]
    text = [q.describe() for q in listed]
    assert text[0] == "features/demo.feature:6 old — since 2025-01-01, 69 days; failed (not gating)"
    assert "age unknown (no @quarantine-since tag)" in text[3]
    assert "age unknown (not a YYYY-MM-DD date)" in text[2]


def test_a_feature_level_quarantine_tag_covers_its_scenarios(tmp_path):
    first = outcomes.scenario_results(
        behave_json(
            tmp_path / "b.json",
            scenario(3, "a", "failed"),
            feature_tags=("quarantine", "quarantine-since:2025-03-10"),
        )
    )
    outcome = outcomes.classify(first, {})
    assert outcome.quarantined_failed == ["features/demo.feature:3 a"]
    (q,) = outcomes.quarantined(first, outcome, today=date(2025, 3, 11))
    assert (q.since, q.age_days) == ("2025-03-10", 1)


# --- main(): rerun, summary, listing, metrics --------------------------------------------------------


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    """run_suite.main with behave replaced by writers of the JSON files behave would write."""
    monkeypatch.setattr(run_suite, "REPORTS", tmp_path)
    monkeypatch.setattr(run_suite, "generate_report", lambda: None)
    monkeypatch.delenv("PUSHGATEWAY_URL", raising=False)
    calls: list[list[str]] = []

    def install(first: list[dict], rerun: list[dict] | None = None) -> list[list[str]]:
        def behave(args, json_out, rerun_out, results_dir):
            calls.append(list(args))
            if json_out.name == "behave.json":
                behave_json(json_out, *first)
                failed = [s for s in first if s["status"] == "failed"]
                rerun_out.write_text("".join(f"{s['location']}\n" for s in failed))
                return 1 if failed else 0
            behave_json(json_out, *(rerun or []))
            return 0 if all(s["status"] == "passed" for s in rerun or []) else 1

        monkeypatch.setattr(run_suite, "behave", behave)
        return calls

    return install


def test_main_reruns_failures_once_and_exits_zero_when_only_flaky_and_quarantined_failed(
    fake_run, tmp_path, capsys
):
    since = (date.today() - timedelta(days=5)).isoformat()
    calls = fake_run(
        [
            scenario(3, "steady", "passed", "standalone"),
            scenario(6, "wobbly", "failed", "integrated"),
            scenario(12, "parked", "failed", "integrated", "quarantine", f"quarantine-since:{since}"),
        ],
        [
            scenario(6, "wobbly", "passed", "integrated"),
            scenario(12, "parked", "failed", "integrated", "quarantine", f"quarantine-since:{since}"),
        ],
    )
    code = run_suite.main(["--tags=~@load", "-D", "backend=process"])
    out = capsys.readouterr().out

    assert code == 0
    assert calls[0] == ["--tags=~@load", "-D", "backend=process"]
    # only the -D userdata (with its values) is passed to the rerun, which is marked as one, and the
    # failed scenarios by location (tests/harness/test_rerun_real.py runs this on real behave)
    assert calls[1] == [
        "-D",
        "backend=process",
        "-D",
        "rerun=1",
        "features/demo.feature:6",
        "features/demo.feature:12",
    ]
    summary = json.loads((tmp_path / "suite-summary.json").read_text())
    assert summary["passed"] == 2 and summary["failed"] == 0
    assert summary["flaky"] == [KEY_FLAKY]
    assert summary["quarantined_failed"] == [KEY_QUARANTINED]
    assert summary["quarantined"] == [
        {"scenario": KEY_QUARANTINED, "since": since, "age_days": 5, "result": "failed"}
    ]
    assert f"FLAKY   {KEY_FLAKY} (passed only on rerun)" in out
    assert f"QUARANTINE {KEY_QUARANTINED} — since {since}, 5 days; failed (not gating)" in out
    assert out.strip().splitlines()[-1] == "2 passed, 0 failed"
    metrics = (tmp_path / "metrics.prom").read_text()
    assert 'flaky_scenarios{backend="unknown",mode="integrated",suite="e2e"} 1.0' in metrics


def test_main_exits_one_on_a_gating_failure_and_lists_quarantine_without_a_date(fake_run, tmp_path, capsys):
    fake_run(
        [scenario(9, "broken", "failed"), scenario(12, "parked", "passed", "quarantine")],
        [scenario(9, "broken", "failed")],
    )
    assert run_suite.main([]) == 1
    out = capsys.readouterr().out
    assert f"FAILED  {KEY_BROKEN}" in out
    assert f"QUARANTINE {KEY_QUARANTINED} — age unknown (no @quarantine-since tag); passed" in out
    summary = json.loads((tmp_path / "suite-summary.json").read_text())
    assert summary["failed_scenarios"] == [KEY_BROKEN]
    assert summary["quarantined"][0]["age_days"] is None


def test_main_with_no_rerun_keeps_failures(fake_run, tmp_path):
    calls = fake_run([scenario(6, "wobbly", "failed")], [scenario(6, "wobbly", "passed")])
    assert run_suite.main(["--no-rerun"]) == 1
    assert len(calls) == 1
    assert json.loads((tmp_path / "suite-summary.json").read_text())["flaky"] == []


def test_a_broken_metrics_export_does_not_change_the_verdict(fake_run, tmp_path, monkeypatch, capsys):
    from harness.records import metrics_export

    def boom(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(metrics_export, "export", boom)
    fake_run([scenario(3, "steady", "passed")])
    assert run_suite.main([]) == 0
    assert "metrics: export failed: disk full" in capsys.readouterr().err


def test_results_of_another_backend_become_distinct_tests_labelled_by_backend(tmp_path):
    """Without this, the report counted a scenario run on the process backend, externally and in
    containers as one test retried three times."""
    result = {"name": "Evidence reaches MC", "historyId": "abc", "status": "passed", "parameters": []}
    (tmp_path / "1-result.json").write_text(json.dumps(result))
    assert run_suite.tag_backend(tmp_path, "external") == 1
    tagged = json.loads((tmp_path / "1-result.json").read_text())
    assert tagged["historyId"] != "abc"
    assert tagged["parameters"] == [{"name": "backend", "value": "external"}]
    assert run_suite.tag_backend(tmp_path, "external") == 0  # idempotent
