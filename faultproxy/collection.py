"""The named proxies of one server, and every change to them, serialised by one lock.

Why: API requests arrive concurrently and some changes await (stopping a listener, interrupting a
toxic on every live connection). Serialising all mutations keeps a proxy's toxic list and its
connections' stages in step, and gives populate/reset their all-or-nothing feel. Request bodies
are parsed here (not in api.py) so that the CLI's `--proxy`/`--config` go through exactly the same
validation and defaults as `POST /proxies` and `POST /populate`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from faultproxy import errors
from faultproxy.proxy import Proxy, parse_address
from faultproxy.toxics import Toxic

DEFAULT_LISTEN = "127.0.0.1:0"  # Toxiproxy's empty listen means an ephemeral port; we keep it on loopback


@dataclass(frozen=True)
class ProxySpec:
    """A proxy as requested: Toxiproxy's fields with Toxiproxy's defaults."""

    name: str
    listen: str
    upstream: str
    enabled: bool = True

    @classmethod
    def from_json(cls, body: object, where: str = "") -> ProxySpec:
        """Parse one proxy object; `where` (" at proxy 2") says which one of a populate list."""
        if not isinstance(body, dict):
            raise errors.BAD_REQUEST_BODY.joined("expected a JSON object" + where)

        def text(key: str) -> str:
            value = body.get(key)
            if value is not None and not isinstance(value, str):
                raise errors.BAD_REQUEST_BODY.joined(f"{key} must be a string{where}")
            return value or ""

        name, listen, upstream = text("name"), text("listen") or DEFAULT_LISTEN, text("upstream")
        enabled = body.get("enabled")
        if enabled is None:
            enabled = True
        if not isinstance(enabled, bool):
            raise errors.BAD_REQUEST_BODY.joined(f"enabled must be a boolean{where}")
        if not name:
            raise errors.MISSING_FIELD.joined("name" + where)
        if not upstream:
            raise errors.MISSING_FIELD.joined("upstream" + where)
        parse_address(listen, "listen")  # refuse bad addresses before anything changes
        parse_address(upstream, "upstream")
        return cls(name, listen, upstream, enabled)


class ProxyCollection:
    def __init__(self) -> None:
        self._proxies: dict[str, Proxy] = {}
        self._lock = asyncio.Lock()

    def all(self) -> list[Proxy]:
        return list(self._proxies.values())

    def get(self, name: str) -> Proxy:
        try:
            return self._proxies[name]
        except KeyError:
            raise errors.PROXY_NOT_FOUND from None

    async def _start_new(self, spec: ProxySpec) -> Proxy:
        proxy = Proxy(spec.name, spec.listen, spec.upstream)
        if spec.enabled:
            await proxy.start()
        self._proxies[spec.name] = proxy
        return proxy

    async def add(self, spec: ProxySpec) -> Proxy:
        async with self._lock:
            if spec.name in self._proxies:
                raise errors.PROXY_ALREADY_EXISTS
            return await self._start_new(spec)

    async def populate(self, specs: Sequence[ProxySpec]) -> list[Proxy]:
        """Create or replace each proxy: an existing one with the same listen and upstream is kept
        (toxics and connections untouched), one that differs is stopped and replaced."""
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise errors.BAD_REQUEST_BODY.joined("duplicate proxy name in populate request")
        async with self._lock:
            result = []
            for spec in specs:
                existing = self._proxies.get(spec.name)
                if existing is not None:
                    if existing.listen == spec.listen and existing.upstream == spec.upstream:
                        result.append(existing)
                        continue
                    await existing.stop()
                    del self._proxies[spec.name]
                result.append(await self._start_new(spec))
            return result

    async def update(self, name: str, body: object) -> Proxy:
        """Toxiproxy's update: fields left out keep their current values."""
        async with self._lock:
            proxy = self.get(name)
            if not isinstance(body, dict):
                raise errors.BAD_REQUEST_BODY.joined("expected a JSON object")
            merged = {
                "name": name,
                "listen": proxy.listen,
                "upstream": proxy.upstream,
                "enabled": proxy.enabled,
            }
            # null, like a missing field, keeps the current value (Go leaves the field untouched)
            merged.update(
                {k: v for k, v in body.items() if k in ("listen", "upstream", "enabled") and v is not None}
            )
            spec = ProxySpec.from_json(merged)
            await proxy.update(spec.listen, spec.upstream, spec.enabled)
            return proxy

    async def remove(self, name: str) -> None:
        async with self._lock:
            proxy = self.get(name)
            await proxy.stop()
            del self._proxies[name]

    async def add_toxic(self, proxy_name: str, body: object) -> Toxic:
        async with self._lock:
            proxy = self.get(proxy_name)
            toxic = Toxic.from_json(body)
            proxy.add_toxic(toxic)
            return toxic

    async def update_toxic(self, proxy_name: str, toxic_name: str, body: object) -> Toxic:
        async with self._lock:
            return await self.get(proxy_name).update_toxic(toxic_name, body)

    async def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        async with self._lock:
            await self.get(proxy_name).remove_toxic(toxic_name)

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic (Toxiproxy's POST /reset)."""
        async with self._lock:
            for proxy in self._proxies.values():
                await proxy.start()
                await proxy.remove_all_toxics()

    async def close(self) -> None:
        """Stop every proxy (server shutdown)."""
        async with self._lock:
            for proxy in self._proxies.values():
                await proxy.stop()
