"""The Gherkin load sentence → LoadProfile/Budgets → k6 thresholds, with no second copy
of any number: what the sentence says is what k6 is told (checked through `k6 inspect`)."""

from __future__ import annotations

import json
import subprocess

import pytest

from harness.load.runner import (
    COS_SCRIPT,
    Breach,
    Budgets,
    LoadProfile,
    k6_binary,
    k6_command,
    k6_env,
    parse_load_sentence,
    result_from_summary,
)

SENTENCE = (
    "at 1000 requests per second for 60 seconds with 80% reads, "
    "p95 of reads stays under 350 ms and p95 of writes under 700 ms"
)
READ_P95 = "http_req_duration{kind:read,phase:measure}"
WRITE_P95 = "http_req_duration{kind:write,phase:measure}"


def test_the_sentence_becomes_a_profile_and_budgets() -> None:
    profile, budgets = parse_load_sentence(SENTENCE)
    assert (profile.rate, profile.duration_s, profile.read_ratio) == (1000, 60, 0.8)
    assert profile.warmup_s == 6  # a tenth of the run, within 1..10 s, when the sentence names none
    assert (budgets.read_p95_ms, budgets.write_p95_ms) == (350, 700)
    assert (budgets.max_error_rate, budgets.max_dropped_ratio) == (0.01, 0.01)
    assert (profile.rate_of("read"), profile.rate_of("write")) == (800, 200)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "Then at 50 req/s for 2 minutes with 100% reads after a 3-second warm-up, "
            "p95 of reads is under 20.5 ms with at most 0.5% errors",
            (50, 120, 1.0, 3, 20.5, None, 0.005),
        ),
        (
            "When the load runs at 200 rps for 30 s with 0 % reads, p95 of writes stays below 90 ms",
            (200, 30, 0.0, 3, None, 90, 0.01),
        ),
    ],
)
def test_sentence_variants(sentence: str, expected: tuple) -> None:
    p, b = parse_load_sentence(sentence)
    got = (p.rate, p.duration_s, p.read_ratio, p.warmup_s, b.read_p95_ms, b.write_p95_ms, b.max_error_rate)
    assert got == expected


@pytest.mark.parametrize(
    ("sentence", "missing"),
    [
        ("for 60 seconds with 80% reads, p95 of reads stays under 350 ms", "requests per second"),
        ("at 10 requests per second with 80% reads, p95 of reads stays under 350 ms", "for N seconds"),
        ("at 10 requests per second for 5 seconds, p95 of reads stays under 350 ms", "reads"),
        ("at 10 requests per second for 5 seconds with 80% reads", "p95"),
    ],
)
def test_an_incomplete_sentence_says_what_is_missing(sentence: str, missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        parse_load_sentence(sentence)


def test_profile_rejects_nonsense() -> None:
    for bad in (
        {"rate": 0, "duration_s": 1},
        {"rate": 1, "duration_s": 0},
        {"rate": 1, "duration_s": 1, "read_ratio": 1.5},
    ):
        with pytest.raises(ValueError):
            LoadProfile(**bad)


SENTENCE_THRESHOLDS = {
    READ_P95: ["p(95)<350"],
    WRITE_P95: ["p(95)<700"],
    "dropped_iterations{scenario:reads}": ["count<=480"],  # 1 % of 800/s × 60 s
    "dropped_iterations{scenario:writes}": ["count<=120"],  # 1 % of 200/s × 60 s
    "http_req_failed{phase:measure}": ["rate<=0.01"],
    "checks{phase:measure}": ["rate>=0.99"],
}


def test_env_carries_the_sentence_numbers_as_they_are(tmp_path) -> None:
    profile, budgets = parse_load_sentence(SENTENCE)
    env = k6_env(profile, budgets, tmp_path, cos_url="http://127.0.0.1:1/", username="qa", password="pw")
    assert {k: env[k] for k in ("RATE", "DURATION", "WARMUP", "READ_RATIO", "COS_URL")} == {
        "RATE": "1000",
        "DURATION": "60s",
        "WARMUP": "6s",
        "READ_RATIO": "0.8",
        "COS_URL": "http://127.0.0.1:1",
    }
    budget = {k: env[k] for k in ("READ_P95_MS", "WRITE_P95_MS", "MAX_ERROR_RATE", "MAX_DROPPED_RATIO")}
    assert budget == {
        "READ_P95_MS": "350",
        "WRITE_P95_MS": "700",
        "MAX_ERROR_RATE": "0.01",
        "MAX_DROPPED_RATIO": "0.01",
    }
    assert "THRESHOLDS_JSON" not in env  # one threshold compiler: k6/lib/profile.js
    cmd = k6_command(COS_SCRIPT, env)
    for flag in ("--no-usage-report", "--quiet", "--summary-trend-stats"):
        assert flag in cmd
    assert cmd[cmd.index("--summary-trend-stats") + 1] == "avg,min,med,max,p(90),p(95),p(99)"


def _inspect(env: dict[str, str]) -> dict:
    args = [str(k6_binary()), "inspect", "--include-system-env-vars=false"]
    for k, v in env.items():
        args += ["-e", f"{k}={v}"]
    out = subprocess.run([*args, str(COS_SCRIPT)], capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)


def _budget_part(k6_thresholds: dict, expected: dict) -> dict:
    """k6's thresholds restricted to the expressions the budgets define (drops observations)."""
    return {m: [e for e in k6_thresholds.get(m, []) if e in expected[m]] for m in expected}


def test_k6_builds_the_thresholds_from_the_sentence_numbers_and_the_scenarios(tmp_path) -> None:
    profile, budgets = parse_load_sentence(SENTENCE)
    options = _inspect(k6_env(profile, budgets, tmp_path))
    assert _budget_part(options["thresholds"], SENTENCE_THRESHOLDS) == SENTENCE_THRESHOLDS
    sc = options["scenarios"]
    assert (sc["reads"]["rate"], sc["writes"]["rate"], sc["reads"]["timeUnit"]) == (800, 200, "1s")
    assert sc["reads"]["startTime"] == "6s" and sc["reads"]["duration"] == "1m0s"  # k6 normalises
    assert sc["reads"]["tags"] == {"phase": "measure"} and sc["warmup_reads"]["tags"] == {"phase": "warmup"}
    assert all(s["executor"] == "constant-arrival-rate" for s in sc.values())
    assert 1 <= sc["reads"]["preAllocatedVUs"] <= sc["reads"]["maxVUs"] <= 400


def test_fractional_budgets_and_a_read_only_profile_reach_k6_exactly(tmp_path) -> None:
    thresholds = _inspect(k6_env(LoadProfile(10, 3, 1.0, 0), Budgets(20.5, 700, 0.005, 0), tmp_path))[
        "thresholds"
    ]
    assert "p(95)<20.5" in thresholds[READ_P95]
    assert not any(
        e.startswith("p(95)<") for e in thresholds.get(WRITE_P95, [])
    )  # no writes: nothing to judge
    assert "count<=0" in thresholds["dropped_iterations{scenario:reads}"]
    assert "rate<=0.005" in thresholds["http_req_failed{phase:measure}"]


def test_fractional_rates_and_no_warmup(tmp_path) -> None:
    profile = LoadProfile(rate=5, duration_s=2, read_ratio=0.33, warmup_s=0)
    sc = _inspect(k6_env(profile, Budgets(100, 100), tmp_path))["scenarios"]
    assert set(sc) == {"reads", "writes"}
    assert (sc["reads"]["rate"], sc["reads"]["timeUnit"]) == (1650, "16m40s")  # 1650 per 1000 s = 1.65/s
    assert (sc["writes"]["rate"], sc["writes"]["timeUnit"]) == (3350, "16m40s")


def test_breaches_are_read_from_the_summary_with_their_measured_value(tmp_path) -> None:
    profile, budgets = LoadProfile(50, 2, 0.8, 1), Budgets(50, 700)
    metrics = {
        READ_P95: {
            "type": "trend",
            "values": {"med": 121.0, "p(95)": 124.5, "p(99)": 130.0, "avg": 121.5, "max": 140.0},
            "thresholds": {"max>=0": {"ok": True}, "p(95)<50": {"ok": False}},
        },
        "http_reqs{kind:read,phase:measure}": {"type": "counter", "values": {"count": 80, "rate": 26.0}},
        "http_reqs{phase:measure}": {"type": "counter", "values": {"count": 100, "rate": 33.0}},
        "dropped_iterations{scenario:reads}": {
            "type": "counter",
            "values": {"count": 3, "rate": 1.0},
            "thresholds": {"count<=1": {"ok": False}},
        },
        "http_req_failed{phase:measure}": {
            "type": "rate",
            "values": {"rate": 0.0},
            "thresholds": {"rate<=0.01": {"ok": True}},
        },
    }
    (tmp_path / "summary.json").write_text(json.dumps({"k6": {"metrics": metrics}}))
    result = result_from_summary(tmp_path, profile, budgets)
    assert result.breaches == [
        Breach("dropped_iterations{scenario:reads} count<=1", 3),
        Breach(f"{READ_P95} p(95)<50", 124.5),
    ]
    assert result.breach_of("http_req_duration{kind:read").measured == 124.5
    assert (result.reads.p50_ms, result.reads.p95_ms, result.reads.p99_ms) == (121.0, 124.5, 130.0)
    assert result.reads.requests == 80 and result.reads.achieved_rate == 40
    assert result.writes.requests == 0 and result.writes.p95_ms is None
    assert result.dropped_iterations == 3 and result.achieved_rate == 50 and not result.passed
