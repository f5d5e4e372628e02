"""Network faults between COS and MC, through a Toxiproxy-compatible API.

Steps only ever speak Toxiproxy's HTTP API (via faultproxy.client), so
`-D toxiproxy_url=…` can point the same scenarios at a real Toxiproxy.
"""

from __future__ import annotations

from faultproxy.client import ToxiproxyClient
from harness.world import World


def _client(world: World) -> tuple[ToxiproxyClient, str]:
    ep = world.env.endpoints
    if not ep.toxiproxy_url or not ep.mc_proxy_name:
        raise AssertionError(f"the {world.env.mode} environment has no fault proxy between COS and MC")
    return ToxiproxyClient(ep.toxiproxy_url), ep.mc_proxy_name


def mc_down(world: World) -> None:
    client, proxy = _client(world)
    try:
        client.set_enabled(proxy, False)
    finally:
        client.close()


def mc_up(world: World) -> None:
    client, proxy = _client(world)
    try:
        client.set_enabled(proxy, True)
    finally:
        client.close()
