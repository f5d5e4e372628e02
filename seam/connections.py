"""Connection hygiene for both services' uvicorn servers: idle and slow clients get closed.

Why: uvicorn only times out a connection *after* a response (keep-alive). A
client that connects and sends nothing, or trickles its request head a byte
at a time, held a connection (and a file descriptor) forever. Here:

- `guarded_h11(head_timeout_s)` is uvicorn's h11 protocol plus one timer: a
  connection that has not delivered a complete request head within
  `head_timeout_s` of connecting (or of its previous response) is closed;
- `read_body` (seam/problem.py) bounds the body the same way (408);
- `server_options()` is what both services pass to uvicorn.

A client that goes away mid-body is logged as one line by `read_body`, not
as a traceback per abort.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("seam.connections")

HEAD_TIMEOUT_S = 10.0  # connect → complete request head (and between keep-alive requests)
KEEP_ALIVE_S = 5  # idle after a response


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that closes connections whose request head does not arrive in time."""

    head_timeout_s: float = HEAD_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._timed_cycle: object = None
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._timed_cycle = self.cycle
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            log.info(
                "closing a connection from %s: no complete request within %.0f s",
                self._peer(),
                self.head_timeout_s,
            )
            self.transport.close()

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "?"

    def handle_events(self) -> None:
        super().handle_events()
        if self._head_timer is not None and self.cycle is not None and self.cycle is not self._timed_cycle:
            self._cancel_head_timer()  # a new request's head has arrived

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()  # the next request's head must arrive in time too

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)


def guarded_h11(head_timeout_s: float = HEAD_TIMEOUT_S) -> type[GuardedH11Protocol]:
    """The protocol class with this head timeout (a subclass, so servers in one process differ)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"head_timeout_s": head_timeout_s})


def server_options(head_timeout_s: float = HEAD_TIMEOUT_S) -> dict[str, Any]:
    """uvicorn.Config/uvicorn.run keyword arguments shared by COS and MC."""
    return {"http": guarded_h11(head_timeout_s), "timeout_keep_alive": KEEP_ALIVE_S}


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket, bound before serving: errors surface at once, port 0 resolves at once.

    Made with proto=IPPROTO_TCP on purpose: asyncio disables Nagle only on accepted sockets whose
    proto says TCP, and with Nagle on every keep-alive answer (uvicorn writes head and body apart)
    waits ~40 ms for the client's delayed ACK. (`uvicorn.Config.bind_socket` makes proto 0 sockets.)
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock
