"""Charts of every load run: k6's web-dashboard export written beside the summary, offline, no server.

A real (short) k6 run against the real COS must leave `dashboard.html` — k6's self-contained
report with latency percentiles and request rates over time — which load_budgets attaches to
the load scenario in Allure and the workflow uploads with reports/load/. No port is opened
for it (K6_WEB_DASHBOARD_PORT=-1) and it carries no credential.
"""

from __future__ import annotations

import base64
import gzip
import re

import pytest

from harness.gates.secret_scan import known_secrets, scan_bytes, scan_tree
from harness.kit import browser, debian_tools
from harness.load.runner import DASHBOARD_FILE, Budgets, LoadProfile, _k6_process_env, run_load

_DATA = re.compile(
    r'<script id="data" type="application/json; charset=utf-8; gzip; base64">\s*(.*?)\s*</script>', re.S
)


def embedded_data(html: str) -> str:
    """The run's data inside the export (gzip + base64 JSON lines): what a text scan cannot see."""
    found = _DATA.search(html)
    assert found, "no embedded data in the dashboard export"
    return gzip.decompress(base64.b64decode(found.group(1))).decode()


def test_the_dashboard_is_an_export_without_a_server(tmp_path) -> None:
    env = _k6_process_env(tmp_path / DASHBOARD_FILE)
    assert env["K6_WEB_DASHBOARD"] == "true"
    assert env["K6_WEB_DASHBOARD_PORT"] == "-1"  # nothing listens, k6 does not wait for a browser
    assert env["K6_WEB_DASHBOARD_EXPORT"] == str(tmp_path / DASHBOARD_FILE)
    assert "K6_WEB_DASHBOARD" not in _k6_process_env()


@pytest.mark.slow
def test_a_real_run_writes_the_dashboard_export(start_cos, credentials, tmp_path) -> None:
    cos = start_cos()
    out = tmp_path / "load"
    result = run_load(
        cos.url,
        *credentials,
        LoadProfile(rate=20, duration_s=3, read_ratio=0.5, warmup_s=1),
        Budgets(read_p95_ms=2000, write_p95_ms=2000),
        out,
    )
    assert result.dashboard_html == (out / DASHBOARD_FILE).resolve(), result.dashboard_html
    html = result.dashboard_html.read_text()
    assert "<html" in html and html.rstrip().endswith("</html>"), html[:200]
    assert result.dashboard_html.stat().st_size > 50_000, "the export embeds its charts and data"
    data = embedded_data(html)
    assert '"event":"param"' in data and "http_req_duration{kind:read,phase:measure}" in data
    findings = scan_tree(out) + scan_bytes(data.encode(), "dashboard.html (embedded data)", known_secrets())
    assert findings == [], "\n".join(f.describe() for f in findings)
    if debian_tools.skip_reason("chromium") is None:  # what a person sees, offline from disk
        text = browser.page_text(result.dashboard_html.as_uri(), budget_ms=8000)
        assert "Request Duration" in text and "p95" in text, text[:1500]
        assert re.search(r"http_req_duration \d", text), text[:3000]
