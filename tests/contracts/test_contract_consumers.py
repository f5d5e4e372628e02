"""The consumer contract tests under pytest: each case drives its real client against Pact's mock.

`python -m contracts gate` runs the same cases (contracts/consumers/); here each one is its own
test so a failing behaviour is named, and the committed pacts must not have drifted.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from contracts import PACT_DIR, consumers, drift, pactfile

CASES = [(suite, case) for suite in consumers.suites() for case in suite.cases]


@pytest.mark.parametrize(
    ("suite", "case"), CASES, ids=[f"{s.consumer}->{s.provider}:{c.__name__}" for s, c in CASES]
)
def test_consumer_case(suite: consumers.ConsumerSuite, case, tmp_path: Path) -> None:
    suite.run_case(case, tmp_path)
    written = pactfile.load(tmp_path / suite.pact_file)
    assert written["interactions"], "a case declares at least one interaction"


def test_every_interaction_is_named_once_per_pact() -> None:
    for path in pactfile.committed(PACT_DIR):
        names = [i["description"] for i in pactfile.load(path)["interactions"]]
        assert len(names) == len(set(names)), f"{path.name} repeats an interaction name"


def test_committed_pacts_match_what_the_consumers_generate() -> None:
    result = drift.check()
    assert result.ok, result.report()


def test_drift_gate_shows_a_diff_and_how_to_accept(tmp_path: Path) -> None:
    committed = tmp_path / "committed"
    shutil.copytree(PACT_DIR, committed)
    target = committed / "companyos-maestro-conductor.json"
    doc = json.loads(target.read_text())
    doc["interactions"][0]["response"]["status"] = 299
    target.write_text(json.dumps(doc))
    generated = tmp_path / "generated"
    shutil.copytree(PACT_DIR, generated)
    result = drift.compare(committed, generated)
    assert not result.ok
    text = result.report()
    assert '-        "status": 299' in text and "python -m contracts accept" in text, text
