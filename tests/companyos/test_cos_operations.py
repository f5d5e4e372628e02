"""Health, readiness, metrics, OpenAPI and the command line."""

from __future__ import annotations

import subprocess
import sys

import httpx
from cos_helpers import REPO, metric

from companyos.settings import PRODUCTION_POLL_INTERVAL_S, from_args


def test_healthz_reports_mode_pack_and_outbox(standalone) -> None:
    body = httpx.get(f"{standalone.url}/healthz").json()
    assert body["status"] == "ok" and body["mode"] == "standalone"
    assert body["pack"]["source"] == "local" and body["pack"]["revision"] == "local"
    assert body["digest_age_s"] >= 0
    assert body["last_reload"]["outcome"] == "initial"
    assert body["mc_reachable"] is None
    assert isinstance(body["outbox_depth"], int)


def test_readyz_and_metrics(standalone) -> None:
    r = httpx.get(f"{standalone.url}/readyz")
    assert r.status_code == 200 and r.json() == {"ready": True, "pack_loaded": True, "storage_open": True}
    text = httpx.get(f"{standalone.url}/metrics").text
    for name in (
        "policy_fetch_duration_seconds",
        "policy_reload_success_total",
        "policy_reload_failure_total",
        "evidence_publish_retries_total",
        "evidence_publish_dedupe_total",
        "evidence_outbox_depth",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    assert metric(text, "policy_active_info", {"source": "local", "revision": "local"}) == 1.0


def test_readyz_is_503_without_storage(start_cos) -> None:
    cos = start_cos()
    cos.cos.outbox.close()
    cos.cos.outbox = None
    r = httpx.get(f"{cos.url}/readyz")
    assert r.status_code == 503 and r.json()["storage_open"] is False


def test_openapi_lists_every_route(standalone) -> None:
    doc = httpx.get(f"{standalone.url}/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    ops = {(path, method) for path, item in doc["paths"].items() for method in item}
    expected = {(r.path, m.lower()) for r in standalone.server.app.routes for m in r.methods if m != "HEAD"}
    assert ops == expected
    assert ("/v1/evidence", "post") in ops and ("/v1/callbacks/evidence-receipts", "post") in ops
    assert doc["paths"]["/v1/authorize"]["post"]["security"] == [{"bearer": []}]


def test_unknown_route_is_a_problem(standalone) -> None:
    r = httpx.get(f"{standalone.url}/nope")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_cli_defaults_and_help() -> None:
    s = from_args([])
    assert (s.host, s.port, s.mode) == ("127.0.0.1", 8600, "standalone")
    assert (s.client_id, s.client_secret) == ("companyos", "companyos-dev-secret")
    assert s.mc_url == "http://127.0.0.1:8700" and s.poll_interval_s == 1.0
    assert str(s.data_dir) == "data/companyos" and s.users_path.name == "users.json"
    assert "companyos-dev-secret" not in repr(s)
    assert PRODUCTION_POLL_INTERVAL_S == 30.0
    s = from_args(
        [
            "--mode",
            "integrated",
            "--seam-mutation",
            "cos.evidence-201",
            "--test-latency-ms",
            "5",
            "--allow-test-hooks",
        ]
    )
    assert s.integrated and s.seam_mutations == {"cos.evidence-201"} and s.test_latency_ms == 5
    assert s.test_hooks == ("seam mutation cos.evidence-201", "test latency 5 ms")
    out = subprocess.run(
        [sys.executable, "-m", "companyos", "--help"], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0
    for flag in (
        "--mode",
        "--mc-url",
        "--mc-public-key",
        "--data-dir",
        "--poll-interval",
        "--users-file",
        "--callback-url",
        "--seam-mutation",
        "--test-latency-ms",
        "--client-id",
        "--client-secret",
    ):
        assert flag in out.stdout


def test_env_configures_test_latency_and_mutations(monkeypatch) -> None:
    monkeypatch.setenv("COS_TEST_LATENCY_MS", "25")
    monkeypatch.setenv("SEAM_MUTATIONS", "cos.attestation-no-304, mc.no-304")
    s = from_args(["--allow-test-hooks"])
    assert s.test_latency_ms == 25
    assert s.seam_mutations == {"cos.attestation-no-304", "mc.no-304"}
