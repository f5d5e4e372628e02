"""Idle, slow and aborted connections at COS (issue 13): closed in time, one log line per abort."""

from __future__ import annotations

import logging
import socket
import time
from urllib.parse import urlsplit

import pytest

from seam import problem

HEAD_TIMEOUT_S = 0.5


@pytest.fixture
def cos(start_cos):
    return start_cos(header_timeout_s=HEAD_TIMEOUT_S)


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    sock.settimeout(5)
    return sock


def read_response(sock: socket.socket) -> bytes:
    """One whole HTTP/1.1 response (head and Content-Length body may arrive in separate segments)."""
    data = b""
    while b"\r\n\r\n" not in data:
        segment = sock.recv(65536)
        if not segment:
            return data
        data += segment
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        segment = sock.recv(65536)
        if not segment:
            break
        body += segment
    return head + b"\r\n\r\n" + body


def closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closed `sock` (recv → b""); fails if it is still open."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for {seconds} s")
    return time.monotonic() - started


def test_a_connection_that_sends_nothing_is_closed(cos) -> None:
    with connect(cos.url) as sock:
        assert closed_within(sock, 5) < 3


def test_a_request_head_trickled_byte_by_byte_is_closed(cos) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"
    closed = False
    with connect(cos.url) as sock:
        started = time.monotonic()
        for byte in head:  # bounded by the head's length (~7 s if the server never closes)
            try:
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
                closed = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
            except BlockingIOError:
                continue  # open and silent: keep trickling
            except OSError:
                closed = True  # reset / broken pipe: the server closed it
            if closed:
                break
        elapsed = time.monotonic() - started
    assert closed, "the server waited for the whole trickled head"
    assert elapsed < 3


def test_keep_alive_requests_still_work(cos) -> None:
    with connect(cos.url) as sock:
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = read_response(sock)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
            time.sleep(HEAD_TIMEOUT_S / 2)


def test_a_body_slower_than_the_body_timeout_is_a_408(cos, monkeypatch) -> None:
    monkeypatch.setattr(problem, "BODY_TIMEOUT_S", 0.5)
    with connect(cos.url) as sock:
        sock.sendall(
            b"POST /v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"reason": "body_timeout"' in answer


def test_a_client_abort_mid_body_is_one_log_line(cos, caplog) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(5):
        with connect(cos.url) as sock:
            sock.sendall(
                b"POST /v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n" + b'{"username": "qa"'
            )
            time.sleep(0.1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(_abort_lines(caplog)) < 5:  # bounded wait for the log
        time.sleep(0.05)
    assert len(_abort_lines(caplog)) == 5, caplog.text
    assert not [r for r in caplog.records if r.exc_info], caplog.text  # no traceback at all
    assert "Traceback" not in caplog.text


def _abort_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "went away" in r.getMessage()]
