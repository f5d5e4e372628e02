"""A scenario tagged for both modes runs in both — so none may carry both tags at once.

harness/env/session.py runs a scenario whose effective tags name both `@standalone` and
`@integrated` only once, in the integrated environment; the tags would promise a standalone run
that never happens. Both modes are written as a Scenario Outline with one `Examples:` table per
mode (each example row then carries exactly one mode tag).
"""

from __future__ import annotations

from pathlib import Path

from behave.parser import parse_file

FEATURES = Path(__file__).resolve().parents[2] / "features"


def test_no_scenario_claims_both_modes() -> None:
    both = []
    for path in sorted(FEATURES.glob("*.feature")):
        for scenario in parse_file(str(path)).walk_scenarios():
            tags = set(scenario.effective_tags)
            if {"standalone", "integrated"} <= tags:
                both.append(f"{path.name}:{scenario.line} {scenario.name}")
    assert not both, f"tagged for both modes but would run only integrated: {both}"


def test_the_key_reuse_scenario_runs_in_each_mode() -> None:
    feature = parse_file(str(FEATURES / "evidence_publish.feature"))
    modes = [
        ({"standalone", "integrated"} & set(s.effective_tags)).pop()
        for s in feature.walk_scenarios()
        if s.name.startswith("Reusing an idempotency key")
    ]
    assert sorted(modes) == ["integrated", "standalone"]
