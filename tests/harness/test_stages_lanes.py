"""The gate runs its long stages in lanes at once, and a lane's stage reports like any other.

Serial, the stages left a 2-core machine half idle (most of their time is spent waiting on the
services, behave and k6 they start) and `make test` took 10.5 min; the plan runs unit,
fuzz/e2e/mutations and faults/compose side by side, each stage in a child process with its own
reports directory, gathered into one table, one report and one metrics file (issue 16).
"""

from __future__ import annotations

import threading

import pytest

from harness.gates import stages


def test_the_plan_runs_every_stage_once_with_contracts_first_and_load_alone():
    flat = [name for group in stages.PLAN for lane in group for name in lane]
    assert sorted(flat) == sorted(stages.STAGES) and len(flat) == len(set(flat)), flat
    assert stages.PLAN[0] == (("contracts",),)  # the first red on a seam break stays seconds away
    load_group = next(g for g in stages.PLAN if any("load" in lane for lane in g))
    assert load_group == (("load",),), "load's latencies must not be measured beside other stages"
    assert stages.PLAN[-1] == (("observability",),)
    # faults (the runbook recipe's fixed ports) and compose (Docker) never run at the same time
    assert any({"faults", "compose"} <= set(lane) for g in stages.PLAN for lane in g)


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    """main() with stand-in stages that wait for each other: only lanes run at once can pass."""
    monkeypatch.setattr(stages, "REPORTS", tmp_path)
    monkeypatch.setattr(stages, "export_metrics", lambda: None)
    monkeypatch.setattr(stages, "generate_report", lambda dirs: None)
    monkeypatch.setattr(stages, "in_child", lambda name: stages.STAGES[name]())
    together = threading.Barrier(3, timeout=5)  # unit, fuzz and faults: the first stage of each lane

    def stage(name: str):
        def run() -> stages.StageResult:
            if name in ("unit", "fuzz", "faults"):
                try:
                    together.wait()
                except threading.BrokenBarrierError:
                    return stages.StageResult(name, "failed", 0.1, 0, 1, "ran alone")
            return stages.StageResult(name, "passed", 0.1, 1, 0)

        return run

    monkeypatch.setattr(stages, "STAGES", {n: stage(n) for n in stages.STAGES})


def test_the_lanes_of_a_group_run_at_the_same_time(fakes, tmp_path, capsys):
    assert stages.main([]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert out.count("(in a lane; output in") == 6, out  # unit, fuzz, e2e, mutations, faults, compose
    assert out.strip().splitlines()[-1] == f"{len(stages.STAGES)} passed, 0 failed"
    table = out[out.index("| stage |") :]
    rows = [line.split("|")[1].strip() for line in table.splitlines()[2:] if line.startswith("| ")]
    assert rows == list(stages.STAGES), rows  # the table keeps the stages' order, not their finish


def test_serial_runs_one_stage_at_a_time(fakes, capsys):
    assert stages.main(["--serial"]) == 1  # the waiting stand-ins never meet
    assert "(in a lane" not in capsys.readouterr().out


def test_a_stage_in_a_lane_runs_as_its_own_gate_and_reports_back(tmp_path, monkeypatch):
    """Real child processes: a green contracts stage, and an e2e stage broken by a bad backend."""
    monkeypatch.setattr(stages, "REPORTS", tmp_path)
    green = stages.in_child("contracts")
    assert (green.name, green.status, green.passed, green.failed) == ("contracts", "passed", 4, 0), green
    log = (tmp_path / "stages" / "contracts.log").read_text()
    assert "features/contracts.feature" in log and log.strip().endswith("4 passed, 0 failed")
    dirs = dict(stages.allure_result_dirs())
    lane_results = tmp_path / "lanes" / "contracts" / "allure-results"
    assert lane_results in dirs and len(list(lane_results.glob("*-result.json"))) == 4, dirs
    assert (tmp_path / "lanes" / "contracts" / "metrics.prom").exists()

    monkeypatch.setattr(stages, "BEHAVE_ARGS", ["-Dbackend=no-such-backend"])
    red = stages.in_child("e2e")
    assert (red.name, red.status) == ("e2e", "failed") and red.failed >= 1, red
    assert "no-such-backend" in (tmp_path / "stages" / "e2e.log").read_text()
