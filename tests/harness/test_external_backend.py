"""`backend=external` as a user meets it: the plan, a preflight that says what to configure, and
services left as found.

The plan and the preflight run on real behave against real (or absent) services; the restore
runs against a real process environment that a "scenario" left with a different policy at MC and
a fault between COS and MC — the state that made the next feature fail on an external deployment.
(The whole runbook recipe, green end to end, is run by the `faults` stage.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from behave.parser import parse_file

from harness.env import plan
from harness.kit.ports import free_port

REPO = Path(__file__).resolve().parents[2]
BEHAVE = str(Path(sys.executable).parent / "behave")

OWNED = "backend=external: the scenario stops or restarts services the suite does not own"
NO_PROXY = "backend=external without -D toxiproxy_url: no way to inject faults between COS and MC"


def _behave(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BEHAVE, "--no-capture", "-f", "plain", "-D", f"reports_dir={tmp_path}", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_plan_skips_what_an_external_backend_cannot_run_and_says_why():
    features = [parse_file(str(REPO / "features" / "faults.feature"))]
    without_proxy = plan.make(features, None, "external", {})
    reasons = {p.name: p.reason for p in without_proxy}
    assert (
        reasons["COS is killed mid-publish and restarted on its data; nothing lost, nothing twice"] == OWNED
    )
    assert sum(1 for r in reasons.values() if r == NO_PROXY) >= 3, reasons
    assert not any(p.runs for p in without_proxy)

    features = [parse_file(str(REPO / "features" / "faults.feature"))]
    with_proxy = plan.make(features, None, "external", {"toxiproxy_url": "http://127.0.0.1:1"})
    assert {p.reason for p in with_proxy if not p.runs} == {OWNED}
    assert sum(1 for p in with_proxy if p.runs) >= 3
    assert plan.modes_needed(with_proxy) == ["integrated"]


def test_the_plan_skips_nothing_on_the_process_backend():
    features = [parse_file(str(REPO / "features" / "faults.feature"))]
    assert all(p.runs for p in plan.make(features, None, "process", {}))


def test_no_cos_where_the_user_pointed_fails_fast_saying_what_to_do(tmp_path):
    port = free_port()
    proc = _behave(
        tmp_path,
        "-D",
        "backend=external",
        "-D",
        f"cos_url=http://127.0.0.1:{port}",
        "-D",
        "preflight_wait_s=1",
        "features/standalone_cold_start.feature",
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "plan (backend=external): 2 scenario(s) will run (2 standalone)" in output, output
    assert f"COS at http://127.0.0.1:{port}/readyz" in output, output
    assert "Start COS, or pass -D cos_url=" in output, output
    assert "0 scenarios passed, 0 failed, 0 skipped, 2 untested" in output, output  # nothing ran


@pytest.mark.slow
def test_a_cos_in_the_wrong_mode_is_refused_before_the_first_scenario(tmp_path):
    from harness.kit.processes import ManagedProcess, python_module
    from harness.kit.readiness import http_ready, wait_until

    port = free_port()
    cos = ManagedProcess(
        "cos",
        python_module("companyos", "--port", str(port), "--data-dir", str(tmp_path / "cos")),
        tmp_path / "cos.log",
    ).start()
    try:
        wait_until("COS", http_ready(f"http://127.0.0.1:{port}/readyz"), 30, alive=cos.alive)
        proc = _behave(
            tmp_path,
            "-D",
            "backend=external",
            "-D",
            f"cos_url=http://127.0.0.1:{port}",
            "-D",
            f"mc_url=http://127.0.0.1:{free_port()}",
            "features/integrated_cold_start.feature",
        )
    finally:
        cos.stop()
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "preflight: ok   COS ready at" in output, output
    assert "runs in 'standalone' mode, but @integrated scenarios were selected" in output, output
    assert "Scenario: COS enforces the pack MC publishes" not in output, output  # nothing ran


@pytest.mark.slow
def test_restore_puts_back_the_policy_and_the_network_and_waits_until_cos_is_healthy(tmp_path):
    from faultproxy.client import ToxiproxyClient
    from harness.domain import policy
    from harness.env import restore
    from harness.env.backends import open_environment
    from harness.env.mc import Conductor

    userdata = {"log_dir": str(tmp_path / "logs"), "poll_interval": "0.2"}
    with open_environment("process", "integrated", userdata) as env:
        found = restore.capture(env)
        mc = Conductor(env)
        faults = ToxiproxyClient(env.endpoints.toxiproxy_url)
        try:
            # what a reload scenario and a fault scenario leave behind
            mc.publish_revision(policy.PACK, "frozen-left-behind", policy.frozen_revision_files("read"))
            faults.add_toxic(env.endpoints.mc_proxy_name, "timeout", {"timeout": 0})

            done = restore.restore(env, found)

            assert any("republished" in d for d in done), done
            assert faults.toxics(env.endpoints.mc_proxy_name) == []
            digest, raw = restore._mc_pack(mc)
            from seam import bundle

            assert bundle.parse(raw).files == found.pack_files
            cos_health = httpx_json(f"{env.endpoints.cos_url}/healthz")
            assert cos_health["status"] == "ok", cos_health
            attested = httpx_json(f"{env.endpoints.cos_url}/v1/attestation")
            assert attested["digest"].removeprefix("sha256:") == digest
            assert restore.restore(env, found) == []  # nothing left to undo
        finally:
            mc.close()
            faults.close()


def httpx_json(url: str) -> dict:
    import httpx

    return httpx.get(url, timeout=5).json()


def test_the_suite_runner_counts_a_run_stopped_by_the_preflight_as_failed(tmp_path):
    import os

    port = free_port()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.gates.run_suite",
            "--no-report",
            "-D",
            "backend=external",
            "-D",
            f"cos_url=http://127.0.0.1:{port}",
            "-D",
            "preflight_wait_s=0.5",
            "features/standalone_cold_start.feature",
        ],
        cwd=REPO,
        env={**os.environ, "E2E_REPORTS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "no scenario ran: behave exited" in output, output
    assert proc.stdout.rstrip().splitlines()[-1] == "0 passed, 1 failed", output


@pytest.mark.slow
def test_the_preflight_asks_for_mcs_admin_listener_and_refuses_the_public_port(tmp_path):
    """Issue 13: MC's admin API is on its own listener, so `-D mc_url` alone is not enough, and a
    user who passes the public port as the admin URL is told so before any scenario runs."""
    from harness.kit.service_pair import start_integrated_pair

    pair = start_integrated_pair(tmp_path, tmp_path / "logs", cos_args=())
    mc_url = pair.mc_url
    try:
        base = ["-D", "backend=external", "-D", f"cos_url={pair.cos_url}", "-D", f"mc_url={mc_url}"]
        feature = "features/integrated_cold_start.feature"
        missing = _behave(tmp_path / "a", *base, feature)
        public = _behave(tmp_path / "b", *base, "-D", f"mc_admin_url={mc_url}", feature)
    finally:
        pair.stop()
    for proc in (missing, public):
        assert proc.returncode != 0, proc.stdout + proc.stderr
        assert "Scenario: COS enforces the pack MC publishes" not in proc.stdout  # nothing ran
    assert "no MC admin URL: MC serves its admin API on its own listener" in missing.stdout + missing.stderr
    assert f"{mc_url} has no MC admin API (404): is it MC's public port?" in public.stdout + public.stderr
