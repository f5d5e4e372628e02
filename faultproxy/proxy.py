"""One named proxy: a listening socket, the connections it accepted, and its toxics.

Why: this is the unit the API manipulates. Enabling binds the listen address; disabling closes the
listener (new connections are refused) and closes every live connection, which is how Toxiproxy
models a service being "down". Toxic changes are applied to the proxy's list (used for new
connections) and to every live connection in the same step, so pooled connections see them too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from faultproxy import errors
from faultproxy.connection import Connection
from faultproxy.toxics import STREAMS, Toxic

log = logging.getLogger("faultproxy.proxy")

UPSTREAM_CONNECT_TIMEOUT_S = 10.0
STOP_WAIT_S = 2.0  # how long stop() waits for closed connections' tasks to unwind
DEFAULT_LISTEN_HOST = "127.0.0.1"  # an empty host means loopback here, not "every interface"


def parse_address(value: str, field: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or `:port` -> (host, port); a 400 naming the field otherwise."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise errors.BAD_REQUEST_BODY.joined(f"{field} must be host:port, got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise errors.BAD_REQUEST_BODY.joined(f"{field}: write IPv6 addresses as [addr]:port")
    return host, int(port_text)


def format_address(host: str, port: int) -> str:
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"


class Proxy:
    """A proxy as Toxiproxy defines it: name, listen, upstream, enabled, toxics."""

    def __init__(self, name: str, listen: str, upstream: str) -> None:
        parse_address(upstream, "upstream")
        parse_address(listen, "listen")
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: list[Toxic] = []
        self._server: asyncio.Server | None = None
        self._connections: set[Connection] = set()
        self._handlers: set[asyncio.Task[None]] = set()  # one per accepted client, until it ends
        self._generation = 0  # bumped on every stop; a connection accepted before it is dropped

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [t.to_json() for t in self.ordered_toxics()],
        }

    def ordered_toxics(self) -> list[Toxic]:
        """Upstream toxics first, then downstream, each in the order added (Toxiproxy's order)."""
        return [t for stream in STREAMS for t in self.toxics if t.stream == stream]

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        if self.enabled:
            return
        host, port = parse_address(self.listen, "listen")
        try:
            self._server = await asyncio.start_server(
                self._on_client, host or DEFAULT_LISTEN_HOST, port, reuse_address=True
            )
        except OSError as exc:
            raise errors.ApiError(f"listen tcp {self.listen}: {exc.strerror or exc}", 500) from exc
        bound = self._server.sockets[0].getsockname()
        self.listen = format_address(bound[0], bound[1])  # port 0 becomes the real port
        self.enabled = True
        log.info("proxy %s listening on %s -> %s", self.name, self.listen, self.upstream)

    async def stop(self) -> None:
        if not self.enabled:
            return
        self.enabled = False
        self._generation += 1
        if self._server is not None:
            self._server.close()  # the listening sockets close now: new connections are refused
            self._server = None
        for conn in list(self._connections):
            conn.shutdown()
        self._connections.clear()
        if self._handlers:  # let them finish unwinding, so none is left for the loop to cancel
            await asyncio.wait(list(self._handlers), timeout=STOP_WAIT_S)
        log.info("proxy %s stopped", self.name)

    async def update(self, listen: str, upstream: str, enabled: bool) -> None:
        """Toxiproxy's Proxy.Update: an address change restarts the proxy, dropping connections."""
        parse_address(listen, "listen")
        parse_address(upstream, "upstream")
        if listen != self.listen or upstream != self.upstream:
            await self.stop()
            self.listen = listen
            self.upstream = upstream
        if enabled:
            await self.start()
        else:
            await self.stop()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve_client(reader, writer)
        finally:
            self._handlers.discard(task)

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        generation = self._generation
        host, port = parse_address(self.upstream, "upstream")
        try:
            upstream = await asyncio.wait_for(asyncio.open_connection(host, port), UPSTREAM_CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            log.warning("proxy %s: upstream %s unreachable: %s", self.name, self.upstream, exc)
            writer.close()
            return
        if generation != self._generation:  # disabled while we were connecting upstream
            writer.close()
            upstream[1].close()
            return
        conn = Connection((reader, writer), upstream, self.toxics)
        self._connections.add(conn)
        try:
            await conn.run()
        finally:
            self._connections.discard(conn)

    # --- toxics -------------------------------------------------------------------------------
    def find_toxic(self, name: str) -> Toxic:
        for toxic in self.toxics:
            if toxic.name == name:
                return toxic
        raise errors.TOXIC_NOT_FOUND

    def add_toxic(self, toxic: Toxic) -> None:
        if any(t.name == toxic.name for t in self.toxics):
            raise errors.TOXIC_ALREADY_EXISTS
        self.toxics.append(toxic)
        for conn in list(self._connections):
            conn.add_toxic(toxic)

    async def update_toxic(self, name: str, body: object) -> Toxic:
        old = self.find_toxic(name)
        new = old.updated(body)
        self.toxics[self.toxics.index(old)] = new
        for conn in list(self._connections):
            await conn.update_toxic(new)
        return new

    async def remove_toxic(self, name: str) -> None:
        toxic = self.find_toxic(name)
        self.toxics.remove(toxic)
        for conn in list(self._connections):
            await conn.remove_toxic(toxic)

    async def remove_all_toxics(self) -> None:
        for toxic in list(self.toxics):
            await self.remove_toxic(toxic.name)
