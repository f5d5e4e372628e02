"""Test support for faultproxy: small loopback upstreams and bounded socket helpers.

Upstreams are threaded `socketserver`s (not asyncio) so they are independent of the loop under
test. Every wait here is bounded by a socket timeout or a deadline: a broken proxy fails a test,
it never hangs the run.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"
IO_TIMEOUT_S = 5.0

# Figures measured by the tests, printed in pytest's terminal summary (see conftest.py).
MEASURED: dict[str, str] = {}


def measured(name: str, value: str) -> None:
    MEASURED[name] = value


@dataclass(frozen=True)
class ProxyUnderTest:
    name: str
    listen: str


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        try:
            while data := sock.recv(65536):
                sock.sendall(data)
        except OSError:
            pass


class _Blob(socketserver.StreamRequestHandler):
    """Line protocol: `<n>\\n` -> n bytes back; `<n> close\\n` -> n bytes back, then close."""

    def handle(self) -> None:
        try:
            while line := self.rfile.readline(100):
                words = line.split()
                if not words:
                    continue
                self.wfile.write(blob(int(words[0])))
                self.wfile.flush()
                if words[1:] == [b"close"]:
                    return
        except OSError:
            pass


def blob(n: int) -> bytes:
    """n deterministic, non-repeating-looking bytes (so reordering or loss would show)."""
    pattern = bytes(range(251))
    return (pattern * (n // len(pattern) + 1))[:n]


@dataclass
class Upstream:
    server: _Server
    thread: threading.Thread

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(IO_TIMEOUT_S)


def start_upstream(kind: str) -> Upstream:
    handler = {"echo": _Echo, "blob": _Blob}[kind]
    server = _Server((LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return Upstream(server, thread)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def connect(address: str, timeout_s: float = IO_TIMEOUT_S) -> socket.socket:
    return socket.create_connection(split(address), timeout=timeout_s)


def recv_exactly(sock: socket.socket, n: int, timeout_s: float = IO_TIMEOUT_S) -> bytes:
    """Read n bytes or fail: EOF early raises EOFError, silence past the deadline raises TimeoutError."""
    deadline = time.monotonic() + timeout_s
    parts: list[bytes] = []
    got = 0
    while got < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"only {got} of {n} bytes within {timeout_s}s")
        sock.settimeout(remaining)
        data = sock.recv(min(65536, n - got))
        if not data:
            raise EOFError(f"connection closed after {got} of {n} bytes")
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def round_trip(sock: socket.socket, payload: bytes = b"ping") -> float:
    """Seconds for payload to go through an echo upstream and back."""
    started = time.perf_counter()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.perf_counter() - started


def read_until_closed(sock: socket.socket, timeout_s: float = IO_TIMEOUT_S) -> tuple[bytes, str]:
    """Read until the peer closes: (data, "eof" | "reset"); TimeoutError if it stays open."""
    deadline = time.monotonic() + timeout_s
    parts: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("connection still open")
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return b"".join(parts), "reset"
        except TimeoutError:
            raise TimeoutError("connection still open") from None
        if not data:
            return b"".join(parts), "eof"
        parts.append(data)


def silent_for(sock: socket.socket, seconds: float) -> bool:
    """True if nothing arrives and the connection stays open for `seconds`."""
    sock.settimeout(seconds)
    try:
        sock.recv(1)
    except TimeoutError:
        return True
    except OSError:
        return False
    return False  # data arrived, or the connection closed


def wait_until(
    predicate: Callable[[], bool], timeout_s: float = IO_TIMEOUT_S, interval_s: float = 0.02
) -> None:
    """Poll `predicate` until true; AssertionError after `timeout_s` (never an unbounded wait)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        time.sleep(interval_s)
