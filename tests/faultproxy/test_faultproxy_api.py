"""The control API's routes, status codes and JSON shapes, checked against Toxiproxy's.

Raw httpx is used where the exact status or body is the point; the client elsewhere, which also
proves the client speaks these shapes.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from faultproxy_support import ProxyUnderTest, Upstream, connect, free_port, recv_exactly, round_trip

from faultproxy.client import ToxiproxyClient, ToxiproxyError
from faultproxy.server import BackgroundFaultProxy


@pytest.fixture
def http(server: BackgroundFaultProxy, tp: ToxiproxyClient) -> Iterator[httpx.Client]:
    """Raw HTTP to the shared server (`tp` is requested so its cleanup runs after each test)."""
    with httpx.Client(base_url=server.url, timeout=5.0) as client:
        yield client


def test_version(http: httpx.Client, tp: ToxiproxyClient) -> None:
    response = http.get("/version")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["version"].startswith("2.")
    assert tp.version() == response.json()["version"]


def test_create_list_get_delete_proxy(http: httpx.Client, echo_upstream: Upstream) -> None:
    port = free_port()
    body = {"name": "svc", "listen": f"127.0.0.1:{port}", "upstream": echo_upstream.address, "enabled": True}
    created = http.post("/proxies", json=body)
    assert created.status_code == 201
    expected = {**body, "toxics": []}
    assert created.json() == expected
    assert http.get("/proxies").json() == {"svc": expected}
    assert http.get("/proxies/svc").json() == expected
    with connect(f"127.0.0.1:{port}") as sock:
        assert round_trip(sock) < 1
    deleted = http.delete("/proxies/svc")
    assert deleted.status_code == 204 and deleted.content == b""
    assert http.get("/proxies").json() == {}
    with pytest.raises(ConnectionRefusedError):
        connect(f"127.0.0.1:{port}", timeout_s=1.0)


def test_create_defaults_enabled_and_resolves_port_zero(http: httpx.Client, echo_upstream: Upstream) -> None:
    created = http.post(
        "/proxies", json={"name": "p0", "listen": "127.0.0.1:0", "upstream": echo_upstream.address}
    )
    assert created.status_code == 201
    proxy = created.json()
    assert proxy["enabled"] is True
    assert proxy["listen"].startswith("127.0.0.1:") and not proxy["listen"].endswith(":0")


def test_create_disabled_does_not_listen(tp: ToxiproxyClient, echo_upstream: Upstream) -> None:
    port = free_port()
    proxy = tp.create_proxy("off", f"127.0.0.1:{port}", echo_upstream.address, enabled=False)
    assert proxy["enabled"] is False
    with pytest.raises(ConnectionRefusedError):
        connect(f"127.0.0.1:{port}", timeout_s=1.0)
    assert tp.set_enabled("off", True)["enabled"] is True
    with connect(f"127.0.0.1:{port}") as sock:
        assert round_trip(sock) < 1


def test_duplicate_proxy_is_409(
    http: httpx.Client, echo_proxy: ProxyUnderTest, echo_upstream: Upstream
) -> None:
    again = http.post("/proxies", json={"name": echo_proxy.name, "upstream": echo_upstream.address})
    assert again.status_code == 409
    assert again.json() == {"error": "proxy already exists", "status": 409}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/proxies/nope"),
        ("POST", "/proxies/nope"),
        ("DELETE", "/proxies/nope"),
        ("GET", "/proxies/nope/toxics"),
        ("POST", "/proxies/nope/toxics"),
        ("GET", "/proxies/nope/toxics/t"),
        ("POST", "/proxies/nope/toxics/t"),
        ("DELETE", "/proxies/nope/toxics/t"),
    ],
)
def test_unknown_proxy_is_404(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path, json={"type": "latency"} if method == "POST" else None)
    assert response.status_code == 404
    assert response.json() == {"error": "proxy not found", "status": 404}


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_toxic_is_404(http: httpx.Client, echo_proxy: ProxyUnderTest, method: str) -> None:
    response = http.request(
        method, f"/proxies/{echo_proxy.name}/toxics/nope", json={} if method == "POST" else None
    )
    assert response.status_code == 404
    assert response.json() == {"error": "toxic not found", "status": 404}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"upstream": "127.0.0.1:1"}, "missing required field: name"),
        ({"name": "x"}, "missing required field: upstream"),
        ({"name": "x", "upstream": "no-port"}, "bad request body: upstream must be host:port, got 'no-port'"),
        (
            {"name": "x", "upstream": "127.0.0.1:1", "enabled": "yes"},
            "bad request body: enabled must be a boolean",
        ),
    ],
)
def test_bad_proxy_bodies_are_400(http: httpx.Client, body: dict[str, object], message: str) -> None:
    response = http.post("/proxies", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": message, "status": 400}


def test_non_json_body_is_400(http: httpx.Client) -> None:
    response = http.post("/proxies", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("bad request body: ")


def test_update_proxy_keeps_unspecified_fields(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    before = tp.get_proxy(echo_proxy.name)
    after = tp.update_proxy(echo_proxy.name, enabled=False)
    assert after == {**before, "enabled": False}
    assert tp.update_proxy(echo_proxy.name)["enabled"] is False  # an empty update changes nothing


def test_update_upstream_moves_the_proxy(
    tp: ToxiproxyClient, echo_proxy: ProxyUnderTest, blob_upstream: Upstream
) -> None:
    tp.update_proxy(echo_proxy.name, upstream=blob_upstream.address)
    with connect(echo_proxy.listen) as sock:
        sock.sendall(b"3\n")
        assert recv_exactly(sock, 3) == bytes(range(3))


def test_patch_is_accepted_for_updates(http: httpx.Client, echo_proxy: ProxyUnderTest) -> None:
    response = http.patch(f"/proxies/{echo_proxy.name}", json={"enabled": False})
    assert response.status_code == 200 and response.json()["enabled"] is False


def test_toxic_create_defaults_and_shape(http: httpx.Client, echo_proxy: ProxyUnderTest) -> None:
    response = http.post(
        f"/proxies/{echo_proxy.name}/toxics", json={"type": "latency", "attributes": {"latency": 5}}
    )
    assert response.status_code == 200  # Toxiproxy answers 200, not 201, for a new toxic
    assert response.json() == {
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1.0,
        "attributes": {"latency": 5, "jitter": 0},
    }


def test_toxic_crud_through_the_client(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    name = echo_proxy.name
    up = tp.add_toxic(name, "bandwidth", {"rate": 10}, stream="upstream", name="slow_up", toxicity=0.5)
    down = tp.add_toxic(name, "limit_data", {"bytes": 99})
    assert up == {
        "name": "slow_up",
        "type": "bandwidth",
        "stream": "upstream",
        "toxicity": 0.5,
        "attributes": {"rate": 10},
    }
    assert tp.toxics(name) == [up, down]
    assert tp.get_proxy(name)["toxics"] == [up, down]
    assert tp.get_toxic(name, "slow_up") == up

    changed = tp.update_toxic(name, "slow_up", {"rate": 20})
    assert changed == {**up, "attributes": {"rate": 20}}
    assert tp.update_toxic(name, "slow_up", toxicity=1.0) == {**changed, "toxicity": 1.0}

    tp.remove_toxic(name, "slow_up")
    assert tp.toxics(name) == [down]
    with pytest.raises(ToxiproxyError) as missing:
        tp.get_toxic(name, "slow_up")
    assert (missing.value.status, missing.value.message) == (404, "toxic not found")


def test_update_merges_attributes(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    tp.add_toxic(echo_proxy.name, "latency", {"latency": 100, "jitter": 10}, name="lag")
    updated = tp.update_toxic(echo_proxy.name, "lag", {"jitter": 20})
    assert updated["attributes"] == {"latency": 100, "jitter": 20}


def test_duplicate_toxic_is_409(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    tp.add_toxic(echo_proxy.name, "latency", {"latency": 1}, name="same")
    with pytest.raises(ToxiproxyError) as dup:
        tp.add_toxic(echo_proxy.name, "timeout", {"timeout": 1}, stream="upstream", name="same")
    assert (dup.value.status, dup.value.message) == (409, "toxic already exists")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "nope"}, "invalid toxic type"),
        (
            {"type": "latency", "stream": "sideways"},
            "stream was invalid, can be either upstream or downstream",
        ),
        (
            {"type": "latency", "attributes": {"latency": "1s"}},
            "bad request body: attribute latency must be an integer",
        ),
        ({"type": "latency", "toxicity": 2}, "bad request body: toxicity must be a number between 0 and 1"),
    ],
)
def test_bad_toxic_bodies_are_400(
    http: httpx.Client, echo_proxy: ProxyUnderTest, body: dict[str, object], message: str
) -> None:
    response = http.post(f"/proxies/{echo_proxy.name}/toxics", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": message, "status": 400}


def test_reset_is_204(http: httpx.Client) -> None:
    response = http.post("/reset")
    assert response.status_code == 204


def test_populate_creates_keeps_and_replaces(
    tp: ToxiproxyClient, echo_upstream: Upstream, blob_upstream: Upstream
) -> None:
    a_port, b_port = free_port(), free_port()
    wanted = [
        {"name": "a", "listen": f"127.0.0.1:{a_port}", "upstream": echo_upstream.address},
        {"name": "b", "listen": f"127.0.0.1:{b_port}", "upstream": echo_upstream.address, "enabled": False},
    ]
    first = tp.populate(wanted)
    assert [(p["name"], p["enabled"], p["toxics"]) for p in first] == [("a", True, []), ("b", False, [])]

    tp.add_toxic("a", "latency", {"latency": 1})
    assert tp.populate(wanted)[0]["toxics"] != []  # same listen/upstream: kept, toxics and all

    moved = tp.populate([{**wanted[0], "upstream": blob_upstream.address}])
    assert moved[0]["upstream"] == blob_upstream.address and moved[0]["toxics"] == []  # replaced
    assert set(tp.list()) == {"a", "b"}


def test_populate_rejects_non_list(http: httpx.Client) -> None:
    response = http.post("/populate", json={"name": "a"})
    assert response.status_code == 400


def test_unknown_route_and_method(http: httpx.Client) -> None:
    assert http.get("/nope").json() == {"error": "not found", "status": 404}
    assert http.put("/proxies").status_code == 405


def test_browsers_are_refused(http: httpx.Client) -> None:
    response = http.get("/proxies", headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"})
    assert response.status_code == 403


def test_listen_conflict_is_reported(
    tp: ToxiproxyClient, echo_proxy: ProxyUnderTest, echo_upstream: Upstream
) -> None:
    with pytest.raises(ToxiproxyError) as busy:
        tp.create_proxy("clash", echo_proxy.listen, echo_upstream.address)
    assert busy.value.status == 500 and "listen tcp" in busy.value.message
    assert "clash" not in tp.list()


def test_scoped_helpers_clean_up(tp: ToxiproxyClient, echo_proxy: ProxyUnderTest) -> None:
    with tp.toxic(echo_proxy.name, "latency", {"latency": 1}) as toxic:
        assert tp.toxics(echo_proxy.name) == [toxic]
    assert tp.toxics(echo_proxy.name) == []
    with tp.down(echo_proxy.name):
        assert tp.get_proxy(echo_proxy.name)["enabled"] is False
    assert tp.get_proxy(echo_proxy.name)["enabled"] is True


def test_oversized_body_is_413(http: httpx.Client) -> None:
    response = http.post("/proxies", content=b" " * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["status"] == 413


def test_populate_validates_everything_before_changing_anything(
    http: httpx.Client, echo_upstream: Upstream
) -> None:
    good = {"name": "good", "listen": "127.0.0.1:0", "upstream": echo_upstream.address}
    response = http.post("/populate", json=[good, {"name": "bad"}])
    assert response.status_code == 400
    assert response.json()["error"] == "missing required field: upstream at proxy 2"
    assert http.get("/proxies").json() == {}
