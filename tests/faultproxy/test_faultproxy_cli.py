"""`python -m faultproxy` as the harness runs it: a separate process, API plus pre-created proxies."""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from faultproxy_support import Upstream, connect, free_port, round_trip

from faultproxy.client import ToxiproxyClient

REPO = Path(__file__).resolve().parents[2]
START_BUDGET_S = 15.0


def _faultproxy(*args: str) -> list[str]:
    return [sys.executable, "-m", "faultproxy", *args]


def test_help_lists_the_flags() -> None:
    done = subprocess.run(_faultproxy("--help"), cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    for flag in ("--host", "--port", "--proxy", "--config"):
        assert flag in done.stdout


def test_bad_proxy_flag_is_a_usage_error() -> None:
    done = subprocess.run(
        _faultproxy("--proxy", "mc=127.0.0.1:1"), cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "NAME=LISTEN=UPSTREAM" in done.stderr


def _ready_url(proc: subprocess.Popen[str]) -> str:
    """The URL from the `faultproxy ready: <url>` line, read with a deadline (no blind sleep)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + START_BUDGET_S
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if not selector.select(timeout=remaining):
                continue
            line = proc.stdout.readline()
            if not line:
                break  # the process exited
            if line.startswith("faultproxy ready: "):
                return line.split(": ", 1)[1].strip()
    raise AssertionError(f"faultproxy not ready within {START_BUDGET_S}s (exit code {proc.poll()})")


def test_serves_the_api_with_a_precreated_proxy(echo_upstream: Upstream) -> None:
    listen = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        _faultproxy(
            "--port", "0", "--log-level", "warning", "--proxy", f"mc={listen}={echo_upstream.address}"
        ),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _ready_url(proc)
        with ToxiproxyClient(url) as tp:
            assert tp.get_proxy("mc") == {
                "name": "mc",
                "listen": listen,
                "upstream": echo_upstream.address,
                "enabled": True,
                "toxics": [],
            }
            with connect(listen) as sock:
                assert round_trip(sock) < 0.1
                tp.add_toxic("mc", "latency", {"latency": 100})
                assert round_trip(sock) >= 0.1
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
    assert proc.returncode in (0, -signal.SIGTERM), stderr
