"""The k6 script sends what docs/seam.md asks for — checked against a recording stand-in.

Plumbing only: the stand-in answers instantly, so nothing here says anything about COS's
latency; test_load_run.py measures the real COS.
"""

from __future__ import annotations

import httpx
import pytest

from harness.load.runner import Budgets, LoadProfile, run_load

pytestmark = pytest.mark.slow


def test_script_speaks_the_seam_and_writes_its_reports(standin, credentials, tmp_path) -> None:
    result = run_load(
        standin.url,
        *credentials,
        LoadProfile(rate=40, duration_s=2, read_ratio=0.5, warmup_s=1),
        Budgets(read_p95_ms=1000, write_p95_ms=1000),
        tmp_path / "load",
        {"standin": standin.pid},
        extra_env={"CONTENT_DIGEST": "1", "TOKENS": "2"},
    )
    stats = httpx.get(f"{standin.url}/_stats").json()
    assert result.passed, result.describe()
    assert stats["login"] == 2, stats
    for bad in ("unauthorized", "bad_authorize", "missing_key", "invalid_evidence", "content_digest_bad"):
        assert bad not in stats, stats
    assert stats["duplicate_keys"] == 0 and stats["distinct_keys"] == stats["evidence"], stats
    assert stats["attestation_304"] > 0 and stats["attestation_200"] > 0 and stats["authorize"] > 0, stats
    assert stats["content_digest_ok"] == stats["evidence"], stats
    # warm-up traffic reaches the service but is not counted
    assert stats["evidence"] > result.writes.requests >= 40, (stats, result.describe())
    assert result.summary_md.read_text().startswith("# COS load: PASS")
    assert "<table>" in result.summary_html.read_text()
    assert result.resources["standin"].samples > 0 and result.resources["k6"].rss_max_mb > 0
