"""The mutation proof counts honestly: only a baseline-passing interaction that fails can catch.

The first test runs the real MC: it is broken in a way unrelated to the mutation under test
(`also` applies `mc.problem-as-json` to every run, the baseline included), so the baseline fails
first, the run says so, and the mutation is not counted as caught even though its own
verification would fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts import MC, mutations
from contracts.mutations import Entry, Run


@pytest.mark.slow
def test_a_provider_broken_anyway_does_not_count_the_mutation_as_caught() -> None:
    proof = mutations.prove(["mc.evidence-202"], also="mc.problem-as-json")
    assert not proof.baseline_ok
    [baseline] = proof.baselines
    assert baseline.provider == MC and baseline.mismatches, "the unrelated break fails the baseline"
    [result] = proof.results
    assert result.name == "mc.evidence-202" and not result.caught
    assert result.error == "baseline failed: not counted"
    text = mutations.report(proof)
    assert "baseline maestro-conductor: FAILED" in text and "no mutation is counted as caught" in text, text
    assert "baseline FAILED: nothing counted as caught" in text
    assert not proof.ok


def _run(interactions: list[str], mismatches: dict[str, str] | None = None, errors=None) -> Run:
    return Run(MC, "", 1.0, interactions, mismatches or {}, errors or {})


ENTRY = Entry("mc.example", MC, "an example")


def test_only_interactions_that_passed_on_the_baseline_can_catch() -> None:
    names = ["c: a", "c: b"]
    clean = _run(names)
    assert mutations.judge(ENTRY, clean, _run(names, {"c: b": "status 202 not 201"})).caught
    assert not mutations.judge(ENTRY, clean, _run(names)).caught
    # A state-setup error is not the contract noticing the mutation.
    assert not mutations.judge(ENTRY, clean, _run(names, errors={"c: a": "state failed"})).caught


def test_a_failing_baseline_counts_nothing_even_where_the_mutation_fails_other_interactions() -> None:
    names = ["c: a", "c: b"]
    broken = _run(names, {"c: a": "broken anyway"})
    result = mutations.judge(ENTRY, broken, _run(names, {"c: a": "x", "c: b": "y"}))
    assert not result.caught and result.error == "baseline failed: not counted"


def test_the_catalogue_is_the_contract_table_only(tmp_path: Path) -> None:
    doc = tmp_path / "mutations.md"
    doc.write_text(
        "# Seam mutations\n\n## Contract mutations\n\n"
        "| name | provider | what breaks |\n| --- | --- | --- |\n"
        "| `mc.etag-dropped` | MC | no ETag |\n\n## Behavioural mutations\n\n"
        "| name | provider | what breaks | caught by |\n| --- | --- | --- | --- |\n"
        "| `cos.outbox-ack-before-durable` | COS | 202 before the row is durable | features/x.feature |\n"
        "| `mc.some-behaviour` | MC | something | y |\n"
    )
    assert mutations.catalogue(doc) == [Entry("mc.etag-dropped", MC, "no ETag")]
