"""The background decision traffic of the reload and fault scenarios is paced.

Unpaced, its four threads kept both cores busy for the whole scenario and slowed every stage
running beside it; paced, every 50 ms window still holds a request from each thread, which is
what catches `cos.reload-blocks-requests` (a policy gap of at least 50 ms).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

from harness.domain.policy import PACE_S, BackgroundDecisions


class _Authorize(BaseHTTPRequestHandler):
    """Answers every POST like COS's /v1/authorize and records when it came."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else every answer waits for the client's delayed ACK (40 ms)
    arrivals: list[float] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).arrivals.append(time.monotonic())
        body = json.dumps({"allow": True, "reasons": [], "policy": {}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _run_traffic(seconds: float) -> tuple[list[float], int, list[str]]:
    _Authorize.arrivals = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Authorize)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        world = SimpleNamespace(
            cos=SimpleNamespace(token="t"), env=SimpleNamespace(endpoints=SimpleNamespace(cos_url=url))
        )
        traffic = BackgroundDecisions(world).start()
        time.sleep(seconds)  # the window being measured, not a wait for readiness
        ok, failed = traffic.stop()
        return list(_Authorize.arrivals), ok, failed
    finally:
        server.shutdown()
        server.server_close()


def test_the_traffic_is_paced_yet_leaves_no_50_ms_window_without_a_request() -> None:
    window_s = 1.0
    arrivals, ok, failed = _run_traffic(window_s)
    assert not failed and ok == len(arrivals) > 0
    ceiling = 4 * (window_s / PACE_S + 2)
    paced = f"{len(arrivals)} requests in {window_s}s: not paced (ceiling {ceiling:.0f})"
    assert len(arrivals) <= ceiling, paced
    settled = [t for t in arrivals if t >= arrivals[0] + 0.1]  # the threads are all running by then
    gaps = [b - a for a, b in zip(settled, settled[1:], strict=False)]
    assert max(gaps) < 0.05, f"a {max(gaps) * 1000:.0f} ms window without any decision request"
