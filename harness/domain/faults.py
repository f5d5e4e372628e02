"""Faults between COS and MC: network faults through a Toxiproxy-compatible API, and stopped services.

Network faults only ever speak Toxiproxy's HTTP API (via faultproxy.client) and
only touch the one proxy COS uses to reach MC, so `-D toxiproxy_url=…` can
point the same scenarios at a real Toxiproxy. Stopping, killing and starting
services goes through `env.control` and needs a backend that owns them
(`@owns-services`). Whatever a scenario leaves behind, `harness.env.session.restore`
resets the proxy and restarts stopped services after it.

Streams, in Toxiproxy's words: `upstream` is COS → MC (requests), `downstream`
is MC → COS (answers).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from faultproxy.client import ToxiproxyClient
from harness.env.environments import COS, MC
from harness.env.world import World


@contextmanager
def _proxy(world: World) -> Iterator[tuple[ToxiproxyClient, str]]:
    ep = world.env.endpoints
    if not ep.toxiproxy_url or not ep.mc_proxy_name:
        raise AssertionError(f"the {world.env.mode} environment has no fault proxy between COS and MC")
    client = ToxiproxyClient(ep.toxiproxy_url)
    try:
        yield client, ep.mc_proxy_name
    finally:
        client.close()


def _cleared(world: World) -> float:
    at = time.monotonic()
    world.fault_cleared_at = at
    return at


# --- MC unreachable (the proxy refuses connections) -----------------------------------------
def mc_down(world: World) -> None:
    with _proxy(world) as (client, proxy):
        client.set_enabled(proxy, False)


def mc_up(world: World) -> None:
    with _proxy(world) as (client, proxy):
        client.set_enabled(proxy, True)
    _cleared(world)


# --- toxics on the link --------------------------------------------------------------------
def add_toxic(
    world: World, kind: str, attributes: dict[str, int], stream: str = "downstream", toxicity: float = 1.0
) -> str:
    """Add one toxic to COS's link to MC; returns its name."""
    with _proxy(world) as (client, proxy):
        return str(client.add_toxic(proxy, kind, attributes, stream=stream, toxicity=toxicity)["name"])


def mc_answers_late(world: World, latency_ms: int) -> str:
    """Every answer from MC reaches COS `latency_ms` later."""
    return add_toxic(world, "latency", {"latency": latency_ms}, stream="downstream")


def requests_delayed(world: World, latency_ms: int) -> str:
    """Every request from COS reaches MC `latency_ms` later (publishes stay in flight longer)."""
    return add_toxic(world, "latency", {"latency": latency_ms}, stream="upstream")


def mc_silent(world: World) -> str:
    """MC's answers never arrive; the connection stays open until the toxic goes (COS must time out)."""
    return add_toxic(world, "timeout", {"timeout": 0}, stream="downstream")


def connection_resets(world: World, stream: str, toxicity: float = 1.0) -> str:
    """Connections are reset (TCP RST) on their first data in `stream`: "upstream" as COS sends
    a request (MC never reads it), "downstream" as MC answers (MC has handled it, COS never hears
    back). `toxicity` is the share of connections affected."""
    return add_toxic(world, "reset_peer", {"timeout": 0}, stream=stream, toxicity=toxicity)


def clear_toxics(world: World) -> None:
    """Remove every toxic from COS's link to MC (other proxies on the same server are left alone)."""
    with _proxy(world) as (client, proxy):
        for toxic in client.toxics(proxy):
            client.remove_toxic(proxy, str(toxic["name"]))
    _cleared(world)


# --- services ------------------------------------------------------------------------------
def stop_mc(world: World) -> None:
    """Stop MC's process (SIGTERM); the proxy is still there, but nothing answers behind it."""
    world.env.control.stop(MC)


def start_mc(world: World) -> float:
    """Start MC again on its data (packs and ledger kept); seconds until it is ready."""
    took = world.env.control.start(MC)
    _cleared(world)
    return took


def restart_mc(world: World) -> float:
    """`start_mc`, timed for the report (`mc_restart_s`)."""
    return world.time("mc_restart_s", start_mc(world))


def kill_cos(world: World) -> None:
    """SIGKILL COS: no shutdown, no flush — a crash."""
    world.env.control.kill(COS)


def start_cos(world: World) -> float:
    """Start COS again on the same data dir and port; seconds until it is ready."""
    took = world.env.control.start(COS)
    _cleared(world)
    return took


def cleared_at(world: World) -> float:
    """The monotonic instant the scenario's last fault was removed."""
    at = world.fault_cleared_at
    assert at is not None, "no fault was removed in this scenario, so there is nothing to recover from"
    return at


def seconds_since_cleared(world: World) -> float:
    return time.monotonic() - cleared_at(world)
