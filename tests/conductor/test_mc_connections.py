"""`python -m conductor` closes idle connections and logs client aborts as one line (issue 13)."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_mc_process import conductor

pytestmark = pytest.mark.slow


def connect(base: str) -> socket.socket:
    parts = urlsplit(base)
    return socket.create_connection((parts.hostname, parts.port), timeout=5)


def test_idle_connections_are_closed_and_aborts_are_one_line(tmp_path: Path) -> None:
    log = tmp_path / "mc.log"
    with conductor(tmp_path / "data", log, "--header-timeout-s", "0.5") as base:
        with connect(base) as idle:
            started = time.monotonic()
            idle.settimeout(5)
            try:
                assert idle.recv(1) == b""  # closed by MC, not by our timeout
            except TimeoutError:
                pytest.fail("MC kept an idle connection open for 5 s")
            assert time.monotonic() - started < 3
        for _ in range(20):
            with connect(base) as sock:
                sock.sendall(
                    b"POST /v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\n"
                    b"grant_type=client_credentials"
                )
                time.sleep(0.02)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and log.read_text().count("went away") < 20:  # bounded
            time.sleep(0.05)
    text = log.read_text()
    assert text.count("went away") == 20, text[-2000:]
    assert "Traceback" not in text and "Exception in ASGI application" not in text, text[-3000:]
