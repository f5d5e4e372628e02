"""A bounded wait that runs out fails as an assertion that says what it waited for and what it
last saw — the evidence acknowledgement wait once ended as a bare error with no message."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from harness.domain import evidence, policy
from harness.kit.readiness import NotReady, Observed, wait_until


def test_a_wait_that_runs_out_is_an_assertion_naming_the_wait_and_the_last_observation():
    with pytest.raises(AssertionError) as failed:
        wait_until("the thing", lambda: Observed(False, "2 of 3 done"), budget_s=0.2, interval_s=0.05)
    assert isinstance(failed.value, NotReady)
    assert str(failed.value) == "waited 0.2s for the thing; last seen: 2 of 3 done"


def test_the_acknowledgement_wait_names_the_entries_still_pending(monkeypatch):
    accepted = SimpleNamespace(status=202)
    subs = [
        SimpleNamespace(key=k, document={"n": k}, answer=accepted, at=time.monotonic()) for k in ("k1", "k2")
    ]
    world = SimpleNamespace(submissions=subs)
    monkeypatch.setattr(evidence, "cos_states_of", lambda _w, keys: {"k1": "acknowledged", "k2": "published"})
    with pytest.raises(AssertionError, match=r"1 of 2 acknowledged; not yet: \{'k2': 'published'\}"):
        evidence.wait_acknowledged(world, budget_s=0.3)


def test_the_enforcement_wait_names_the_pack_cos_enforces_instead(monkeypatch):
    world = SimpleNamespace()
    attested = {"digest": "sha256:" + "a" * 64, "source": "mc", "revision": "r1"}
    monkeypatch.setattr(policy, "enforced", lambda _w: attested)
    with pytest.raises(AssertionError, match=r"COS enforces aaaaaaaaaaaa… \(mc, revision r1\)"):
        policy.wait_enforcing(world, "b" * 64, budget_s=0.3)
