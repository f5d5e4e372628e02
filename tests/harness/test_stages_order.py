"""The gate runs cheap, decisive checks first, so a broken seam is red within seconds.

`make test` starts with the contracts stage (drift, scrub, pacts vs OpenAPI, provider
verification: ~15 s); the 200 s unit stage comes second and the contract mutation proof (~70 s, a
check of the checks) runs in the mutations stage. A failed stage prints its verdict the moment it
ends and stops the run; only observability still runs (issue 16, "The gate itself").
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from behave.parser import parse_file
from behave.tag_expression import make_tag_expression

from harness.gates import stages

REPO = Path(__file__).resolve().parents[2]
CONTRACTS_FEATURE = REPO / "features" / "contracts.feature"


def selected(tags: list[str]) -> list[str]:
    """The contracts.feature scenarios behave runs for these `--tags` (as the stage passes them)."""
    expression = make_tag_expression(tags)
    return [
        s.name
        for s in parse_file(str(CONTRACTS_FEATURE)).walk_scenarios()
        if expression.check(s.effective_tags)
    ]


def test_the_contracts_stage_runs_before_unit_and_the_mutation_proofs_after_the_suite():
    order = list(stages.STAGES)
    assert order[0] == "contracts", order
    assert order.index("contracts") < order.index("unit") < order.index("mutations")
    assert order[-1] == "observability" and stages.ALWAYS_RUN == {"observability"}


def test_the_first_stage_holds_the_decisive_contract_checks_and_not_the_mutation_proof():
    first = selected(stages.CONTRACT_TAGS)
    proof = selected(stages.CONTRACT_MUTATION_TAGS)
    assert any("the consumer tests produce" in n for n in first), first  # drift
    assert any(n.startswith("MC keeps") for n in first) and any(n.startswith("COS keeps") for n in first)
    assert any("leaking credentials" in n for n in first), first  # scrub
    assert proof == ["Breaking any promise of the seam breaks a contract"], proof
    every = selected(["@contract"])
    assert sorted(first + proof) == sorted(every), "each contract scenario runs in exactly one stage"


class Ran(list):
    """The stage functions main() called, in order."""


def fake_stage(ran: Ran, name: str, status: str):
    def stage() -> stages.StageResult:
        ran.append(name)
        return stages.StageResult(name, status, 0.5, 3, int(status == "failed"))

    return stage


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    """main() with stand-in stages and no report tooling, writing under tmp_path."""
    monkeypatch.setattr(stages, "REPORTS", tmp_path)
    monkeypatch.setattr(stages, "export_metrics", lambda: None)
    monkeypatch.setattr(stages, "generate_report", lambda dirs: None)
    monkeypatch.setattr(stages, "in_child", lambda name: stages.STAGES[name]())  # a lane's stage, in-process
    ran = Ran()

    def run(failing: str, *argv: str) -> int:
        fakes = {n: fake_stage(ran, n, "failed" if n == failing else "passed") for n in stages.STAGES}
        monkeypatch.setattr(stages, "STAGES", fakes)
        return stages.main(list(argv))

    return ran, run


def test_a_red_first_stage_stops_the_run_before_unit_and_says_so_at_once(fake_run, capsys):
    ran, run = fake_run
    assert run("contracts") == 1
    assert ran == ["contracts", "observability"], ran  # nothing else ran; observability reports it
    out = capsys.readouterr().out
    verdict = re.search(
        r"=== stage contracts: FAILED in 0\.5s \(3 passed, 1 failed; \d+s into the run\) ===", out
    )
    assert verdict, out
    assert out.index(verdict.group(0)) < out.index("=== stage: observability ===")
    assert "stopping: unit, fuzz, e2e, faults, mutations, load, compose skipped" in out


def test_a_green_stage_prints_its_verdict_and_the_run_goes_on(fake_run, capsys):
    ran, run = fake_run
    assert run("faults") == 1
    assert {"contracts", "unit", "faults", "observability"} <= set(ran), ran
    # faults' lane partner and the group after its lanes never start; observability still reports
    assert "compose" not in ran and "load" not in ran and ran[-1] == "observability", ran
    out = capsys.readouterr().out
    assert "=== stage unit: PASSED in 0.5s (3 passed, 0 failed;" in out
    stopping = re.search(r"stopping: (.*) skipped", out)
    assert stopping and {"load", "compose"} <= set(stopping.group(1).split(", ")), out


def test_keep_going_runs_every_stage_and_only_names_what_it_selected(fake_run, capsys):
    ran, run = fake_run
    assert run("contracts", "--keep-going") == 1
    assert sorted(ran) == sorted(stages.STAGES)
    assert "stopping:" not in capsys.readouterr().out
    ran.clear()
    assert run("contracts", "--only", "contracts", "--only", "e2e") == 1
    assert ran == ["contracts"]
    assert "stopping: e2e skipped" in capsys.readouterr().out
