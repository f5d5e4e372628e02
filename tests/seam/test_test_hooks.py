"""Test hooks cannot be switched on by accident (issue 13): a seam mutation, COS's added latency or
MC's evidence delay takes effect only with --allow-test-hooks on a loopback bind; otherwise the
service refuses to start and says why. Active hooks show in /healthz and as a metric.

Before this, `SEAM_MUTATIONS=…` in a service's environment was enough to make it break its own
contract, on any address, with only a log line to show for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness.kit.ports import free_port
from harness.kit.processes import ManagedProcess, python_module
from harness.kit.readiness import http_ready, wait_until
from seam import test_hooks

REPO = Path(__file__).resolve().parents[2]


def test_no_hook_needs_no_flag():
    assert test_hooks.guard("COS", [], allowed=False, host="0.0.0.0") == ()


def test_a_hook_without_the_flag_is_refused_naming_it():
    with pytest.raises(
        SystemExit, match=r"COS: test hooks requested \(seam mutation cos.x\) without --allow-test-hooks"
    ):
        test_hooks.guard("COS", ["seam mutation cos.x"], allowed=False, host="127.0.0.1")


def test_a_hook_on_a_public_bind_is_refused_even_with_the_flag():
    with pytest.raises(SystemExit, match="only on a loopback bind, not on 0.0.0.0"):
        test_hooks.guard("MC", ["evidence delay 5 ms"], allowed=True, host="0.0.0.0")
    assert test_hooks.guard("MC", ["evidence delay 5 ms"], allowed=True, host="::1") == (
        "evidence delay 5 ms",
    )


def _refused(module: str, env: dict[str, str], *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SEAM_", "COS_TEST", "MC_TEST"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            module,
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path / module),
            *args,
        ],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "env"),
    [
        ("companyos", {"SEAM_MUTATIONS": "cos.evidence-201"}),
        ("companyos", {"COS_TEST_LATENCY_MS": "50"}),
        ("conductor", {"SEAM_MUTATIONS": "mc.etag-weak"}),
        ("conductor", {"MC_TEST_EVIDENCE_DELAY_MS": "50"}),
    ],
)
def test_a_service_with_a_hook_in_its_environment_refuses_to_start_without_the_flag(module, env, tmp_path):
    proc = _refused(module, env, tmp_path=tmp_path)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "without --allow-test-hooks: refusing to start" in proc.stderr, proc.stderr


@pytest.mark.slow
def test_a_service_with_hooks_on_a_public_bind_refuses_to_start(tmp_path):
    proc = _refused(
        "companyos",
        {"SEAM_MUTATIONS": "cos.evidence-201"},
        "--host",
        "0.0.0.0",
        "--allow-test-hooks",
        tmp_path=tmp_path,
    )
    assert proc.returncode != 0 and "only on a loopback bind, not on 0.0.0.0" in proc.stderr, proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "args", "hook"),
    [
        ("companyos", ["--seam-mutation", "cos.evidence-201"], "seam mutation cos.evidence-201"),
        # MC's admin listener on a free port too: the default 8790 may be a running MC's (the
        # runbook recipe's, which the gate runs beside the unit stage)
        ("conductor", ["--admin-port", "0", "--test-evidence-delay-ms", "50"], "evidence delay 50 ms"),
    ],
)
def test_active_hooks_show_in_healthz_and_as_a_metric(module, args, hook, tmp_path):
    port = free_port()
    proc = ManagedProcess(
        module,
        python_module(
            module, "--port", str(port), "--data-dir", str(tmp_path / "d"), "--allow-test-hooks", *args
        ),
        tmp_path / f"{module}.log",
    ).start()
    try:
        wait_until(module, http_ready(f"http://127.0.0.1:{port}/readyz"), 30, alive=proc.alive)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["test_hooks"] == [hook]
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert f'test_hooks_active{{hook="{hook}"}} 1.0' in metrics, metrics[-2000:]
    finally:
        proc.stop()
