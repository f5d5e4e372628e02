"""Checks that used to pass on broken state (issue 12 §3), each shown failing on that state now.

- "within N seconds after the fault ends": a budget already spent when the check starts, or a
  recovery measured later than N, must fail — the old check granted a fresh 0.05 s and passed.
- "MC holds each exactly once": MC's idempotency key is UNIQUE, so counting records by key can
  never see a duplicate; the ledger counts by document digest.
- An empty set of evidence must never make "each of them" true.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from harness.domain import evidence, resilience
from harness.kit.readiness import NotReady, wait_within


def _world(**fields):
    """A stand-in World: the typed fields a check reads, `time` and `note` for the report."""
    notes: list[tuple[str, str]] = []
    world = SimpleNamespace(submissions=[], writer=None, fault_cleared_at=None, timings={}, notes=notes)
    vars(world).update(fields)
    world.note = lambda name, text: notes.append((name, text))
    world.time = lambda name, seconds: world.timings.__setitem__(name, round(seconds, 3))
    return world


# --- "within N seconds after …" --------------------------------------------------------------
def test_a_budget_spent_before_the_check_fails_even_if_recovered_now() -> None:
    world = _world(fault_cleared_at=time.monotonic() - 20)
    with pytest.raises(AssertionError, match="budget"):
        resilience.wait_recovered(world, "something", lambda: True, budget_s=10)


def test_recovery_within_the_budget_passes_and_is_measured_from_the_fault() -> None:
    world = _world(fault_cleared_at=time.monotonic() - 1.0)
    took = resilience.wait_recovered(world, "something", lambda: True, budget_s=10)
    assert 1.0 <= took <= 10


def test_wait_within_fails_when_the_probe_holds_only_after_the_budget() -> None:
    since = time.monotonic()
    calls = iter([False, False, True])

    def late() -> bool:
        time.sleep(0.06)  # each probe is slow: the third (true) answer comes after the 0.1 s budget
        return next(calls)

    with pytest.raises((AssertionError, NotReady)):
        wait_within("late", late, since=since, budget_s=0.1, interval_s=0.01)


def test_wait_within_measures_from_since_not_from_the_call() -> None:
    took = wait_within("already", lambda: True, since=time.monotonic() - 0.5, budget_s=2)
    assert took >= 0.5


# --- "exactly once" counts documents, not keys ----------------------------------------------------
def _record(key: str, digest: str) -> dict:
    return {"idempotency_key": key, "digest": digest, "replays": 0}


def test_a_document_stored_twice_under_another_key_is_a_duplicate() -> None:
    ledger = evidence.Reconciliation(
        written=1,
        accepted={"k1": "d1"},
        records=[_record("k1", "d1"), _record("k1~copy", "d1")],
    )
    assert ledger.duplicated == ["d1"]
    with pytest.raises(AssertionError, match="more than once"):
        evidence.expect_exactly_once(ledger)


def test_a_document_stored_only_under_another_key_is_not_exact() -> None:
    ledger = evidence.Reconciliation(written=1, accepted={"k1": "d1"}, records=[_record("other", "d1")])
    assert not ledger.lost and ledger.rekeyed == ["other"]
    with pytest.raises(AssertionError, match="keys COS did not accept"):
        evidence.expect_exactly_once(ledger)


def test_a_missing_document_is_lost() -> None:
    ledger = evidence.Reconciliation(
        written=2, accepted={"k1": "d1", "k2": "d2"}, records=[_record("k1", "d1")]
    )
    with pytest.raises(AssertionError, match="never reached MC"):
        evidence.expect_exactly_once(ledger)


def test_nothing_accepted_is_not_exactly_once() -> None:
    with pytest.raises(AssertionError, match="accepted nothing"):
        evidence.expect_exactly_once(evidence.Reconciliation(written=0, accepted={}, records=[]))


def test_each_of_no_submissions_is_not_true() -> None:
    with pytest.raises(AssertionError, match="no evidence"):
        evidence.expect_each_accepted(_world())


# --- "answered 202 at once" ------------------------------------------------------------------
class _Writer:
    def __init__(self, written):
        self._written = written

    def snapshot(self):
        return list(self._written)


def test_a_202_that_took_seconds_is_not_at_once() -> None:
    slow = resilience.Written(key="k", digest="d", answers=["202"], final=202, first_answer_s=4.0)
    world = _world(writer=_Writer([slow]))
    with pytest.raises(AssertionError, match="longer than"):
        resilience.expect_answered_at_once(world)


def test_quick_202s_are_at_once_and_nothing_written_is_not() -> None:
    quick = resilience.Written(key="k", digest="d", answers=["202"], final=202, first_answer_s=0.02)
    resilience.expect_answered_at_once(_world(writer=_Writer([quick])))
    with pytest.raises(AssertionError, match="no evidence"):
        resilience.expect_answered_at_once(_world(writer=_Writer([])))


# --- "nothing new was added" past the first page of COS's outbox --------------------------------
class _PagedCos:
    """COS's evidence API as it pages: `GET /v1/evidence` lists at most 1000 entries, plus `total`."""

    PAGE = 1000

    def __init__(self, n: int) -> None:
        self.entries = {f"old-{i}": "acknowledged" for i in range(n)}

    def _reply(self, status, body):
        return SimpleNamespace(status=status, body=body, headers={})

    def list_evidence(self, state=None, **_):
        items = [{"idempotency_key": k, "state": s} for k, s in list(self.entries.items())[: self.PAGE]]
        return self._reply(200, {"items": items, "total": len(self.entries)})

    def request(self, method, path, params=None, **_):
        if path == "/v1/evidence":
            return self.list_evidence()
        key = path.rsplit("/", 1)[1]
        if key in self.entries:
            return self._reply(200, {"idempotency_key": key, "state": self.entries[key]})
        return self._reply(404, {"reason": "unknown_evidence"})


def test_an_entry_added_beyond_the_first_page_is_still_seen() -> None:
    from harness.domain import bad_input

    cos = _PagedCos(1200)
    first = evidence.Submission(key="old-1100", document={}, answer=SimpleNamespace(status=202))
    world = _world(submissions=[first])
    world.cos = cos
    world.snapshot_before = bad_input.snapshot(world)
    cos.entries["sneaked-in"] = "pending"  # a refused request that nonetheless stored something
    with pytest.raises(AssertionError, match="added"):
        bad_input.expect_unchanged(world)


def test_the_scenarios_own_entry_beyond_the_first_page_is_found() -> None:
    cos = _PagedCos(1200)
    world = _world()
    world.cos = cos
    assert evidence.cos_states_of(world, {"old-1100", "missing"}) == {
        "old-1100": "acknowledged",
        "missing": None,
    }
