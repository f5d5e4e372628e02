"""The fault scenarios' judging code, without services: metrics reading, ledgers, backoff, the writer.

A wrong reconciliation or a lenient backoff check would let a broken COS pass the resilience
feature, so the judges are tested on hand-made data here, including the failures they must catch.
"""

from __future__ import annotations

import httpx
import pytest

from cosclient import Reply
from harness.domain import cos_metrics, resilience

METRICS_BEFORE = """\
# TYPE evidence_publish_retries counter
evidence_publish_retries_total{reason="unreachable"} 2.0
evidence_publish_retries_total{reason="timeout"} 0.0
# TYPE evidence_publish_dedupe counter
evidence_publish_dedupe_total 1.0
# TYPE policy_fetch_duration_seconds histogram
policy_fetch_duration_seconds_bucket{le="1.0",outcome="304"} 10.0
policy_fetch_duration_seconds_bucket{le="+Inf",outcome="304"} 10.0
policy_fetch_duration_seconds_count{outcome="304"} 10.0
policy_fetch_duration_seconds_sum{outcome="304"} 0.05
"""

METRICS_AFTER = """\
# TYPE evidence_publish_retries counter
evidence_publish_retries_total{reason="unreachable"} 7.0
evidence_publish_retries_total{reason="timeout"} 1.0
# TYPE evidence_publish_dedupe counter
evidence_publish_dedupe_total 1.0
# TYPE policy_fetch_duration_seconds histogram
policy_fetch_duration_seconds_bucket{le="1.0",outcome="304"} 11.0
policy_fetch_duration_seconds_bucket{le="+Inf",outcome="304"} 13.0
policy_fetch_duration_seconds_count{outcome="304"} 13.0
policy_fetch_duration_seconds_sum{outcome="304"} 4.06
policy_fetch_duration_seconds_bucket{le="1.0",outcome="error"} 0.0
policy_fetch_duration_seconds_bucket{le="+Inf",outcome="error"} 1.0
policy_fetch_duration_seconds_count{outcome="error"} 1.0
policy_fetch_duration_seconds_sum{outcome="error"} 5.0
"""


def test_metrics_are_read_as_series_and_compared_as_increases():
    before, after = cos_metrics.parse(METRICS_BEFORE), cos_metrics.parse(METRICS_AFTER)
    assert after.total("evidence_publish_retries_total") == 8.0
    assert after.total("evidence_publish_retries_total", reason="timeout") == 1.0
    assert cos_metrics.delta(before, after, "evidence_publish_retries_total") == 6.0
    assert cos_metrics.delta(before, after, "evidence_publish_dedupe_total") == 0.0
    assert cos_metrics.delta_by_label(before, after, "evidence_publish_retries_total", "reason") == {
        "unreachable": 5.0,
        "timeout": 1.0,
    }
    assert cos_metrics.Scrape({}).total("evidence_publish_dedupe_total") == 0.0


def test_slow_polls_are_counted_from_the_histogram_without_the_failed_ones():
    before, after = cos_metrics.parse(METRICS_BEFORE), cos_metrics.parse(METRICS_AFTER)
    b_count, b_slow, b_sum = resilience._polls(before)
    count, slow, total = resilience._polls(after)
    assert (count - b_count, slow - b_slow) == (3, 2)  # one fast poll, two over 1 s; the error is left out
    assert round((total - b_sum) / (slow - b_slow), 3) == 2.005


def _reconciliation(records: list[dict], accepted: dict[str, str] | None = None) -> resilience.Reconciliation:
    accepted = accepted if accepted is not None else {"k1": "d1", "k2": "d2"}
    return resilience.Reconciliation(written=len(accepted), accepted=accepted, records=records)


def test_an_exact_ledger_passes_and_counts_replays():
    result = _reconciliation(
        [
            {"idempotency_key": "k1", "digest": "d1", "replays": 2},
            {"idempotency_key": "k2", "digest": "d2", "replays": 0},
        ]
    )
    resilience.expect_exact(result)
    assert result.replays == 2
    assert "lost: 0, duplicates: 0" in result.summary()


@pytest.mark.parametrize(
    ("records", "complaint"),
    [
        ([{"idempotency_key": "k1", "digest": "d1"}], "never reached MC"),
        (
            [
                {"idempotency_key": "k1", "digest": "d1"},
                {"idempotency_key": "k2", "digest": "d2"},
                {"idempotency_key": "k1-again", "digest": "d1"},
            ],
            "more than once",
        ),
        (
            [{"idempotency_key": "k1", "digest": "d1"}, {"idempotency_key": "k2-retry", "digest": "d2"}],
            "keys COS did not accept",
        ),
    ],
    ids=["lost", "resent under a new key", "stored under a wrong key"],
)
def test_a_ledger_that_lost_doubled_or_rekeyed_evidence_fails(records, complaint):
    with pytest.raises(AssertionError, match=complaint):
        resilience.expect_exact(_reconciliation(records))


def test_nothing_accepted_is_not_a_pass():
    with pytest.raises(AssertionError, match="accepted nothing"):
        resilience.expect_exact(_reconciliation([], accepted={}))


def _polls(*backoffs: float) -> list[resilience.FailedPoll]:
    return [resilience.FailedPoll(i + 1, b, float(i)) for i, b in enumerate(backoffs)]


def test_a_growing_backoff_passes():
    resilience.expect_backoff_grew(_polls(0.75, 1.3, 2.5, 2.5))


@pytest.mark.parametrize(
    "backoffs",
    [(0.75,), (1.0, 1.0), (1.5, 0.7), (0.0, 0.0), (0.8, 1.2, 0.9)],
    ids=["one failure", "flat", "shrinking", "no wait", "shrinks later"],
)
def test_no_backoff_or_a_shrinking_one_fails(backoffs):
    with pytest.raises(AssertionError):
        resilience.expect_backoff_grew(_polls(*backoffs))


class ScriptedCOS:
    """Answers evidence writes from a script; then 202 for ever. Records the keys it saw."""

    def __init__(self, script: list[object]) -> None:
        self.script = list(script)
        self.keys: list[str] = []

    def submit_evidence(self, doc, key):
        self.keys.append(key)
        step = self.script.pop(0) if self.script else 202
        if isinstance(step, Exception):
            raise step
        headers = httpx.Headers({"Idempotent-Replayed": "true"} if step == "replay" else {})
        return Reply(status=202 if step == "replay" else int(step), headers=headers, body={})

    def close(self) -> None:
        pass


def test_the_writer_retries_an_unanswered_write_under_the_same_key(monkeypatch):
    monkeypatch.setattr(resilience, "RETRY_PAUSE_S", 0.001)
    cos = ScriptedCOS([httpx.ConnectError("refused"), 503, "replay", 202, 422])
    writer = resilience.SteadyWriter(None, per_second=1000, limit=3, client=cos).start()
    writer.wait_done(5)
    written = writer.stop()
    assert [w.answers for w in written] == [["ConnectError", "503", "202 replay"], ["202"], ["422"]]
    assert [w.accepted for w in written] == [True, True, False]
    assert cos.keys[:3] == [written[0].key] * 3, "a retry must reuse the idempotency key"
    assert len({w.key for w in written}) == 3 and len({w.digest for w in written}) == 3
    writer.close()
