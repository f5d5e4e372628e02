"""Fixtures for the MC tests: an in-process app per test, a token, a loopback receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mc_helpers import BASE, BothListeners, Received, Receiver, content_digest, get_token
from starlette.applications import Starlette
from starlette.testclient import TestClient

from conductor.app import create_app
from conductor.settings import Settings


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., Starlette]:
    """Build an MC on a per-test data dir (both listeners in one app); keyword arguments override
    Settings fields."""

    def make(data_dir: Path | None = None, **overrides: Any) -> Starlette:
        return BothListeners(create_app(Settings(data_dir=data_dir or tmp_path / "mc", **overrides)))

    return make


@pytest.fixture
def client(make_app: Callable[..., Starlette]) -> Iterator[TestClient]:
    with TestClient(make_app(), base_url=BASE) as c:
        yield c


@pytest.fixture
def token(client: TestClient) -> str:
    return get_token(client)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _record(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.requests.put(Received(self.command, self.path, dict(self.headers.items()), body))
            return body

        def do_POST(self) -> None:  # noqa: N802
            self._record()
            status = state.statuses.pop(0) if state.statuses else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            self._record()
            body = json.dumps(state.attestation).encode()
            etag = f'"sha256-{state.attestation.get("digest", "0" * 64)}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("ETag", etag)
            self.send_header("Content-Digest", content_digest(body))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
