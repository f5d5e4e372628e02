"""A load run leaves no credential behind: k6 hands `setup()`'s return value (the COS tokens
the VUs share) to handleSummary as `setup_data`, and a summary that serialises it puts live
tokens into reports/, the Allure attachment and the CI artifact (issue 13)."""

from __future__ import annotations

import json

import pytest

from harness.gates.secret_scan import scan_tree
from harness.load.runner import Budgets, LoadProfile, run_load, scrub_summary


@pytest.mark.slow
def test_a_real_k6_summary_carries_no_cos_token(start_cos, credentials, tmp_path) -> None:
    cos = start_cos()
    out = tmp_path / "load"
    result = run_load(
        cos.url,
        *credentials,
        LoadProfile(rate=20, duration_s=2, read_ratio=0.5, warmup_s=1),
        Budgets(read_p95_ms=2000, write_p95_ms=2000),
        out,
        extra_env={"TOKENS": "2"},
    )
    assert result.reads.requests > 0 and result.writes.requests > 0, result.describe()  # tokens were used
    doc = json.loads(result.summary_json.read_text())
    sections = sorted(doc["k6"])  # only the names: a failure message must not print the tokens
    assert "setup_data" not in sections, sections
    assert doc["k6"]["metrics"], "the summary still carries what harness/load/runner.py reads"
    findings = scan_tree(out)
    assert findings == [], "\n".join(f.describe() for f in findings)


def test_the_driver_strips_setup_data_whatever_script_wrote_the_summary(tmp_path) -> None:
    """Defence in depth for a script whose handleSummary forgets: run_load scrubs the file."""
    summary = tmp_path / "summary.json"
    metrics = {"http_reqs": {"type": "counter", "values": {"count": 3}}}
    summary.write_text(json.dumps({"k6": {"metrics": metrics, "setup_data": {"tokens": ["t"]}}}))
    assert scrub_summary(summary) is True
    doc = json.loads(summary.read_text())
    assert doc == {"k6": {"metrics": metrics}}
    assert scrub_summary(summary) is False  # nothing left to strip: the file is not rewritten
