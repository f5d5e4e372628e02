"""The behavioural mutation proof counts honestly (harness/gates/mutation_proof.py, issue 12 §2).

- A suite broken in a way unrelated to the mutation (here: COS answers evidence 201, which the
  owning scenario also rejects) fails the baseline first: the run says so and counts nothing
  as caught — on real behave, with the services as processes.
- With a clean baseline the same mutation is caught by the scenario the catalogue names.
- The judging rules on hand-made results: only a scenario that passed on the baseline and fails
  a *step* under the mutation counts; a hook error or an empty run does not.
- The catalogue names only mutations the services implement, and scenarios that exist.
"""

from __future__ import annotations

import re
from pathlib import Path

from companyos import mutations as cos_mutations
from conductor import mutations as mc_mutations
from harness.gates import mutation_proof as mp

REPO = Path(__file__).resolve().parents[2]
FAST = mp.Entry(
    "cos.outbox-ack-before-durable",
    "COS",
    "202 before the row is durable",
    (mp.Target("evidence_publish.feature", "Standalone COS keeps evidence"),),
)


def test_a_broken_baseline_counts_nothing_as_caught(tmp_path: Path) -> None:
    proof = mp.prove([FAST], tmp_path, also="cos.evidence-201", workers=1)
    assert not proof.baseline_ok
    assert "do not pass without any mutation" in proof.problem
    assert proof.caught == 0 and proof.missed == 1
    assert proof.verdicts[0].note == "not run: the baseline is broken"
    assert not (tmp_path / FAST.name).exists(), "no mutation may run on a broken baseline"
    text = mp.markdown(proof, 1)
    assert "Baseline broken — nothing counted as caught" in text and "0 of 1 caught" in text


def test_a_clean_baseline_lets_the_owning_scenario_catch_the_mutation(tmp_path: Path) -> None:
    proof = mp.prove([FAST], tmp_path, workers=1)
    assert proof.baseline_ok, proof.problem
    verdict = proof.verdicts[0]
    assert verdict.caught, verdict.note
    assert any("Standalone COS keeps evidence" in c and '"pending"' in c for c in verdict.caught_by)


def _scenario(
    status: str, failed_step: str | None = None, name: str = "Standalone COS keeps evidence"
) -> mp.Scenario:
    return mp.Scenario(status, failed_step, name)


def test_only_a_step_failing_where_the_baseline_passed_counts() -> None:
    baseline = {"features/evidence_publish.feature:39": _scenario("passed")}
    hook_error = mp.Run("m", "m", scenarios={"features/evidence_publish.feature:39": _scenario("failed")})
    assert not mp.judge(FAST, baseline, hook_error).caught
    empty = mp.Run("m", "m", crashed="boom")
    assert not mp.judge(FAST, baseline, empty).caught
    step = mp.Run(
        "m", "m", scenarios={"features/evidence_publish.feature:39": _scenario("failed", "Then x — no")}
    )
    verdict = mp.judge(FAST, baseline, step)
    assert verdict.caught and verdict.caught_by == [
        "features/evidence_publish.feature:39 Standalone COS keeps evidence — Then x — no"
    ]


def test_a_scenario_that_already_failed_on_the_baseline_catches_nothing() -> None:
    baseline = {"features/evidence_publish.feature:39": _scenario("failed", "Then x — broken anyway")}
    mutated = mp.Run(
        "m", "m", scenarios={"features/evidence_publish.feature:39": _scenario("failed", "Then x")}
    )
    assert not mp.judge(FAST, baseline, mutated).caught


def test_scenarios_of_other_features_or_names_are_not_owners() -> None:
    baseline = {
        "features/faults.feature:39": _scenario("passed"),
        "features/evidence_publish.feature:10": _scenario("passed", name="Evidence reaches MC exactly once"),
    }
    mutated = mp.Run("m", "m", scenarios={k: _scenario("failed", "Then x") for k in baseline})
    assert not mp.judge(FAST, baseline, mutated).caught


def test_the_catalogue_names_real_mutations_and_real_scenarios() -> None:
    entries = mp.catalogue()
    assert len(entries) >= 8
    known = set(cos_mutations.KNOWN) | set(mc_mutations.KNOWN)
    assert {e.name for e in entries} <= known
    for e in entries:
        assert e.targets, e.name
        for t in e.targets:
            text = (REPO / "features" / t.feature).read_text("utf-8")
            names = re.findall(r"^\s*Scenario(?: Outline)?:\s*(.+)$", text, flags=re.M)
            assert any(n.startswith(t.scenario) for n in names), (
                f"{e.name}: no scenario {t.scenario!r} in {t.feature}"
            )
