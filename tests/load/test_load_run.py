"""Latency budgets against the real COS (standalone subprocess): a short run within a
generous budget passes, and injected latency is reported as a breached read budget with
the value k6 measured."""

from __future__ import annotations

import pytest

from harness.load.runner import Budgets, LoadProfile, run_load

pytestmark = pytest.mark.slow


def test_short_run_within_a_generous_budget_passes(start_cos, credentials, tmp_path) -> None:
    cos = start_cos()
    result = run_load(
        cos.url,
        *credentials,
        LoadProfile(rate=50, duration_s=3, read_ratio=0.8, warmup_s=1),
        Budgets(read_p95_ms=1000, write_p95_ms=2000),
        tmp_path / "load",
        {"cos": cos.pid},
    )
    assert result.passed, result.describe()
    assert result.error_rate == 0 and result.dropped_iterations == 0, result.describe()
    assert 110 <= result.reads.requests <= 130 and 25 <= result.writes.requests <= 35, result.describe()
    assert result.reads.p95_ms is not None and result.writes.p99_ms is not None
    assert result.resources["cos"].samples > 0 and result.resources["cos"].rss_max_mb > 0
    assert result.summary_json.exists() and result.summary_md.exists()


def test_injected_latency_breaches_the_read_budget(start_cos, credentials, tmp_path) -> None:
    cos = start_cos(latency_ms=120)
    result = run_load(
        cos.url,
        *credentials,
        LoadProfile(rate=50, duration_s=3, read_ratio=0.8, warmup_s=1),
        Budgets(read_p95_ms=50, write_p95_ms=5000),
        tmp_path / "load",
        {"cos": cos.pid},
    )
    breach = result.breach_of("http_req_duration{kind:read")
    assert breach is not None, result.describe()
    assert breach.threshold == "http_req_duration{kind:read,phase:measure} p(95)<50"
    assert breach.measured is not None and breach.measured >= 100, result.describe()
    assert result.breach_of("http_req_duration{kind:write") is None, result.describe()
    assert "BREACHED" in result.summary_md.read_text()
