"""Each toxic's effect on a real TCP connection through the proxy to a loopback upstream.

Timing bounds: a lower bound is the toxic's promise and is exact; upper bounds allow SLACK_S for a
busy CI machine, since all they need to show is that the fault is the toxic's and not something else.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from faultproxy_support import (
    ProxyUnderTest,
    blob,
    connect,
    measured,
    read_until_closed,
    recv_exactly,
    round_trip,
    silent_for,
    wait_until,
)

from faultproxy.client import ToxiproxyClient
from faultproxy.server import BackgroundFaultProxy

SLACK_S = 0.15
FAST_S = 0.1  # a round trip with no toxic on loopback is far below this


def test_passes_bytes_through_unchanged(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    payload = os.urandom(300_000)
    with connect(echo_proxy.listen) as sock:
        baseline = round_trip(sock)
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload
    assert baseline < FAST_S
    measured("baseline round trip (no toxic)", f"{baseline * 1000:.2f} ms")


def test_latency_downstream_delays_each_round_trip(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    tp.add_toxic(echo_proxy.name, "latency", {"latency": 200})
    with connect(echo_proxy.listen) as sock:
        rtts = [round_trip(sock) for _ in range(3)]
    assert all(0.2 <= r < 0.2 + SLACK_S for r in rtts), rtts
    measured("latency 200 ms downstream, round trips", ", ".join(f"{r * 1000:.1f} ms" for r in rtts))


def test_latency_on_both_streams_adds_up(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    tp.add_toxic(echo_proxy.name, "latency", {"latency": 100}, stream="upstream")
    tp.add_toxic(echo_proxy.name, "latency", {"latency": 100}, stream="downstream")
    with connect(echo_proxy.listen) as sock:
        rtt = round_trip(sock)
    assert 0.2 <= rtt < 0.2 + SLACK_S
    measured("latency 100 ms up + 100 ms down, round trip", f"{rtt * 1000:.1f} ms")


def test_latency_jitter_stays_within_its_band(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    tp.add_toxic(echo_proxy.name, "latency", {"latency": 100, "jitter": 50})
    with connect(echo_proxy.listen) as sock:
        rtts = [round_trip(sock) for _ in range(5)]
    assert all(0.05 <= r < 0.15 + SLACK_S for r in rtts), rtts


def test_toxics_apply_to_live_connections_and_removal_restores(
    tp: ToxiproxyClient, echo_proxy: ProxyUnderTest
) -> None:
    """Pooled keep-alive connections (COS -> MC) must feel a toxic added after they opened."""
    with connect(echo_proxy.listen) as sock:
        assert round_trip(sock) < FAST_S
        toxic = tp.add_toxic(echo_proxy.name, "latency", {"latency": 150})
        assert 0.15 <= round_trip(sock) < 0.15 + SLACK_S
        tp.update_toxic(echo_proxy.name, toxic["name"], {"latency": 300})
        assert 0.3 <= round_trip(sock) < 0.3 + SLACK_S
        tp.remove_toxic(echo_proxy.name, toxic["name"])
        assert round_trip(sock) < FAST_S


def test_removing_a_toxic_mid_delay_delivers_the_held_data(
    tp: ToxiproxyClient, echo_proxy: ProxyUnderTest
) -> None:
    toxic = tp.add_toxic(echo_proxy.name, "latency", {"latency": 5000})
    with connect(echo_proxy.listen) as sock:
        sock.sendall(b"held")
        assert silent_for(sock, 0.1)
        started = time.perf_counter()
        tp.remove_toxic(echo_proxy.name, toxic["name"])
        assert recv_exactly(sock, 4, timeout_s=1.0) == b"held"
        assert time.perf_counter() - started < 1.0
        assert round_trip(sock) < FAST_S


def within_rate(elapsed: float, expected: float) -> bool:
    """A limiter is never faster than its rate (-20 %: timer granularity), and not much slower.

    The slower side is looser (+60 %): the proxy runs in the test's process, and the gate runs
    this stage beside others on two cores, so scheduling adds wall time; a limiter off by a unit
    (2× slow or more) still fails.
    """
    return 0.8 * expected <= elapsed <= 1.6 * expected


def test_bandwidth_downstream_limits_throughput(tp: ToxiproxyClient, blob_proxy: ProxyUnderTest) -> None:
    size, rate_kbs = 200_000, 100  # 200 KB at 100 KB/s: 2.0 s
    tp.add_toxic(blob_proxy.name, "bandwidth", {"rate": rate_kbs})
    with connect(blob_proxy.listen) as sock:
        started = time.perf_counter()
        sock.sendall(f"{size}\n".encode())
        data = recv_exactly(sock, size, timeout_s=5.0)
        elapsed = time.perf_counter() - started
    assert data == blob(size)
    expected = size / (rate_kbs * 1000)
    assert within_rate(elapsed, expected), elapsed
    measured(
        "bandwidth 100 KB/s downstream, 200 KB",
        f"{elapsed:.3f} s (expected {expected:.1f} s, {size / elapsed / 1000:.1f} KB/s)",
    )


def test_bandwidth_upstream_limits_what_the_server_receives(
    tp: ToxiproxyClient, echo_proxy: ProxyUnderTest
) -> None:
    size, rate_kbs = 50_000, 100  # 0.5 s
    tp.add_toxic(echo_proxy.name, "bandwidth", {"rate": rate_kbs}, stream="upstream")
    payload = os.urandom(size)
    with connect(echo_proxy.listen) as sock:
        started = time.perf_counter()
        sock.sendall(payload)
        assert recv_exactly(sock, size) == payload
        elapsed = time.perf_counter() - started
    expected = size / (rate_kbs * 1000)
    assert within_rate(elapsed, expected), elapsed
    measured("bandwidth 100 KB/s upstream, 50 KB", f"{elapsed:.3f} s (expected {expected:.1f} s)")


def test_toxics_chained_keep_data_intact_and_ordered(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    tp.add_toxic(echo_proxy.name, "latency", {"latency": 20, "jitter": 10}, stream="upstream")
    tp.add_toxic(echo_proxy.name, "bandwidth", {"rate": 2000}, stream="downstream")
    tp.add_toxic(echo_proxy.name, "slow_close", {"delay": 10}, stream="downstream")
    payload = os.urandom(400_000)  # more than the reader's in-flight budget, so back-pressure engages
    with connect(echo_proxy.listen) as sock:
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload


def test_timeout_zero_holds_data_until_removed_then_closes(
    tp: ToxiproxyClient, echo_proxy: ProxyUnderTest
) -> None:
    toxic = tp.add_toxic(echo_proxy.name, "timeout", {"timeout": 0})
    with connect(echo_proxy.listen) as sock:
        sock.sendall(b"lost")
        assert silent_for(sock, 0.4)  # nothing comes back, and the connection stays open
        tp.remove_toxic(echo_proxy.name, toxic["name"])
        data, how = read_until_closed(sock, timeout_s=2.0)  # data was dropped: Toxiproxy closes it
    assert data == b""
    with connect(echo_proxy.listen) as sock:
        assert round_trip(sock) < FAST_S


def test_timeout_closes_the_connection_after_its_timeout(
    tp: ToxiproxyClient, echo_proxy: ProxyUnderTest
) -> None:
    tp.add_toxic(echo_proxy.name, "timeout", {"timeout": 300})
    with connect(echo_proxy.listen) as sock:
        started = time.perf_counter()
        sock.sendall(b"lost")
        data, how = read_until_closed(sock, timeout_s=2.0)
        elapsed = time.perf_counter() - started
    assert data == b""
    assert 0.3 - 0.01 <= elapsed < 0.3 + SLACK_S, elapsed
    measured("timeout 300 ms, closed after", f"{elapsed * 1000:.1f} ms ({how})")


@pytest.mark.parametrize("stream", ["downstream", "upstream"])
def test_reset_peer_resets_the_client(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest, stream: str) -> None:
    tp.add_toxic(echo_proxy.name, "reset_peer", {"timeout": 0}, stream=stream)
    with connect(echo_proxy.listen) as sock:
        sock.sendall(b"ping")
        with pytest.raises(ConnectionResetError):
            recv_exactly(sock, 4, timeout_s=2.0)


def test_reset_peer_waits_its_timeout(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    tp.add_toxic(echo_proxy.name, "reset_peer", {"timeout": 300})
    with connect(echo_proxy.listen) as sock:
        started = time.perf_counter()
        sock.sendall(b"ping")
        with pytest.raises(ConnectionResetError):
            recv_exactly(sock, 4, timeout_s=2.0)
        elapsed = time.perf_counter() - started
    assert 0.3 - 0.01 <= elapsed < 0.3 + SLACK_S, elapsed
    measured("reset_peer 300 ms, reset after", f"{elapsed * 1000:.1f} ms")


def test_slow_close_delays_the_close(tp: ToxiproxyClient, blob_proxy: ProxyUnderTest) -> None:
    def close_delay() -> tuple[float, float]:
        """(EOF after the request was sent, EOF after the data arrived). The proxy's delay starts
        after the server closed, so it lies between the two: the first can never be shorter than
        the delay, while the second is shorter when this process reads the data late (a loaded
        machine), so the floor is checked on the first and the ceiling on the second."""
        with connect(blob_proxy.listen) as sock:
            sent = time.perf_counter()
            sock.sendall(b"1000 close\n")
            assert recv_exactly(sock, 1000) == blob(1000)
            received = time.perf_counter()
            rest, how = read_until_closed(sock, timeout_s=2.0)
            assert (rest, how) == (b"", "eof")
            eof = time.perf_counter()
            return eof - sent, eof - received

    assert close_delay()[1] < FAST_S
    tp.add_toxic(blob_proxy.name, "slow_close", {"delay": 300})
    since_sent, delayed = close_delay()
    assert since_sent >= 0.3 - 0.005, since_sent  # the event loop's clock resolution
    assert delayed < 0.3 + SLACK_S, delayed
    measured("slow_close 300 ms, EOF after data by", f"{delayed * 1000:.1f} ms")


def test_limit_data_closes_after_n_bytes(tp: ToxiproxyClient, blob_proxy: ProxyUnderTest) -> None:
    tp.add_toxic(blob_proxy.name, "limit_data", {"bytes": 1000})
    with connect(blob_proxy.listen) as sock:
        sock.sendall(b"5000\n")
        data, how = read_until_closed(sock, timeout_s=2.0)
    assert data == blob(1000)
    assert how == "eof"


def test_limit_data_counts_across_chunks(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    tp.add_toxic(echo_proxy.name, "limit_data", {"bytes": 10})
    with connect(echo_proxy.listen) as sock:
        assert round_trip(sock, b"abcdef") < 1
        sock.sendall(b"ghijkl")
        data, how = read_until_closed(sock, timeout_s=2.0)
    assert data == b"ghij"


def test_toxicity_zero_never_applies(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    toxic = tp.add_toxic(echo_proxy.name, "latency", {"latency": 300}, toxicity=0.0)
    for _ in range(5):
        with connect(echo_proxy.listen) as sock:
            assert round_trip(sock) < FAST_S
    tp.add_toxic(echo_proxy.name, "reset_peer", {"timeout": 0}, toxicity=0.0, stream="upstream")
    with connect(echo_proxy.listen) as sock:
        assert round_trip(sock) < FAST_S
        tp.update_toxic(echo_proxy.name, toxic["name"], toxicity=1.0)  # re-rolled on update
        assert 0.3 <= round_trip(sock) < 0.3 + SLACK_S


def test_disabled_proxy_refuses_and_closes_then_enabling_restores(
    tp: ToxiproxyClient, echo_proxy: ProxyUnderTest
) -> None:
    with connect(echo_proxy.listen) as live:
        assert round_trip(live) < FAST_S
        down = tp.set_enabled(echo_proxy.name, False)
        assert down["enabled"] is False
        data, _ = read_until_closed(live, timeout_s=2.0)  # the live connection is closed
        assert data == b""
    with pytest.raises(ConnectionRefusedError):
        connect(echo_proxy.listen, timeout_s=1.0)
    up = tp.set_enabled(echo_proxy.name, True)
    assert up["enabled"] is True and up["listen"] == echo_proxy.listen
    with connect(echo_proxy.listen) as sock:
        assert round_trip(sock) < FAST_S


def test_reset_enables_everything_and_removes_toxics(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    tp.add_toxic(echo_proxy.name, "latency", {"latency": 1000})
    tp.add_toxic(echo_proxy.name, "timeout", {"timeout": 0}, stream="upstream")
    tp.set_enabled(echo_proxy.name, False)
    tp.reset()
    proxy = tp.get_proxy(echo_proxy.name)
    assert proxy["enabled"] is True
    assert proxy["toxics"] == []
    with connect(echo_proxy.listen) as sock:
        assert round_trip(sock) < FAST_S


def test_unreachable_upstream_closes_the_client(tp: ToxiproxyClient) -> None:
    with socket.socket() as placeholder:  # a port that is bound but not listening: refused
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
        proxy = tp.create_proxy("nowhere", listen="127.0.0.1:0", upstream=f"127.0.0.1:{port}")
        with connect(proxy["listen"]) as sock:
            data, _ = read_until_closed(sock, timeout_s=2.0)
    assert data == b""


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like COS's pooled client
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_http_client_through_the_proxy_feels_latency_and_outage(tp: ToxiproxyClient) -> None:
    """What the suite does to COS -> MC, with an HTTP keep-alive client and a tiny HTTP upstream."""
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    upstream.daemon_threads = True
    thread = threading.Thread(target=upstream.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        proxy = tp.create_proxy("http", "127.0.0.1:0", f"127.0.0.1:{upstream.server_address[1]}")
        with httpx.Client(base_url=f"http://{proxy['listen']}", timeout=2.0) as http:
            assert http.get("/").json() == {"ok": True}
            with tp.toxic("http", "latency", {"latency": 200}):
                started = time.perf_counter()
                assert http.get("/").status_code == 200  # the pooled connection feels it too
                elapsed = time.perf_counter() - started
            assert 0.2 <= elapsed < 0.2 + SLACK_S
            measured("latency 200 ms, HTTP GET through the proxy", f"{elapsed * 1000:.1f} ms")
            with tp.down("http"):
                with pytest.raises(httpx.TransportError):
                    http.get("/")
            assert http.get("/").json() == {"ok": True}
    finally:
        upstream.shutdown()
        upstream.server_close()
        thread.join(5)


def test_finished_connections_are_forgotten(
    tp: ToxiproxyClient, server: BackgroundFaultProxy, echo_proxy: ProxyUnderTest
) -> None:
    """Every way a connection can end leaves no connection (and so no task) behind."""
    proxy = server.collection.get(echo_proxy.name)
    for _ in range(5):  # the client closes
        with connect(echo_proxy.listen) as sock:
            round_trip(sock)
    with tp.toxic(echo_proxy.name, "reset_peer", {"timeout": 0}), connect(echo_proxy.listen) as sock:
        sock.sendall(b"x")
        assert read_until_closed(sock)[1] == "reset"
    with tp.toxic(echo_proxy.name, "limit_data", {"bytes": 1}), connect(echo_proxy.listen) as sock:
        sock.sendall(b"xy")
        assert read_until_closed(sock) == (b"x", "eof")
    with tp.toxic(echo_proxy.name, "timeout", {"timeout": 50}), connect(echo_proxy.listen) as sock:
        assert read_until_closed(sock)[0] == b""
    with tp.toxic(echo_proxy.name, "latency", {"latency": 1000}):
        with connect(echo_proxy.listen) as sock:
            sock.sendall(b"abandoned mid-delay")
    wait_until(lambda: proxy.connection_count == 0, timeout_s=3.0)
