"""Run the control API and the data plane together, in one asyncio loop, in one process.

Why one loop: every proxied byte and every API change happen on the same event loop, so a toxic
added through the API is on every live connection by the time the API answers, with no locking
between threads. Two ways to run it:

* `FaultProxyServer(...).serve()` in the foreground (what `python -m faultproxy` does);
* `BackgroundFaultProxy(...)` in a daemon thread with its own loop, for tests and for a harness
  that wants the proxy in-process. Its URL is known before it starts (the API socket is bound
  first), and `start()` returns only once the API is up, so callers never sleep for readiness.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from types import TracebackType

import uvicorn

from faultproxy import DEFAULT_API_HOST, DEFAULT_API_PORT
from faultproxy.api import create_app
from faultproxy.collection import ProxyCollection, ProxySpec
from faultproxy.proxy import format_address
from seam.connections import bind_listener

log = logging.getLogger("faultproxy.server")


def bind_api_socket(host: str, port: int) -> socket.socket:
    """Bind and listen before serving (TCP_NODELAY on accepted sockets: seam.connections.bind_listener)."""
    return bind_listener(host, port)


class FaultProxyServer:
    def __init__(
        self,
        host: str = DEFAULT_API_HOST,
        port: int = DEFAULT_API_PORT,
        proxies: Sequence[ProxySpec] = (),
        on_ready: Callable[[FaultProxyServer], None] | None = None,
        log_level: str = "warning",
    ) -> None:
        self.host = host
        self.port = port
        self.proxies = list(proxies)
        self.on_ready = on_ready
        self.log_level = log_level
        self.collection = ProxyCollection()
        self.sock: socket.socket | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._stop_requested = False

    def bind(self) -> None:
        if self.sock is None:
            self.sock = bind_api_socket(self.host, self.port)
            self.port = int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{format_address(self.host, self.port)}"

    async def serve(self) -> None:
        """Create the configured proxies, then serve the API until asked to stop."""
        self.bind()
        assert self.sock is not None
        try:
            for spec in self.proxies:
                await self.collection.add(spec)
        except BaseException:
            await self.collection.close()
            self.sock.close()
            raise

        def ready() -> None:
            if self.on_ready is not None:
                self.on_ready(self)

        config = uvicorn.Config(
            create_app(self.collection, on_ready=ready),
            log_config=None,
            log_level=self.log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self._uvicorn = uvicorn.Server(config)
        if self._stop_requested:
            self._uvicorn.should_exit = True
        try:
            await self._uvicorn.serve(sockets=[self.sock])
        finally:
            await self.collection.close()  # normally already done by the app's shutdown
            self.sock.close()

    def request_stop(self) -> None:
        """Ask the server to shut down (safe from any thread: uvicorn polls the flag)."""
        self._stop_requested = True
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True


class BackgroundFaultProxy:
    """The whole server in a daemon thread; a context manager. `url` is the API's base URL."""

    def __init__(
        self, host: str = DEFAULT_API_HOST, port: int = 0, proxies: Sequence[ProxySpec] = ()
    ) -> None:
        self._server = FaultProxyServer(host, port, proxies, on_ready=lambda _: self._settled.set())
        self._settled = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def collection(self) -> ProxyCollection:
        """The live proxies, for read-only inspection from other threads (e.g. connection counts).
        Change them through the API: mutations must happen on the server's loop."""
        return self._server.collection

    def start(self, timeout_s: float = 10.0) -> BackgroundFaultProxy:
        self._server.bind()
        self._thread = threading.Thread(target=self._run, name="faultproxy", daemon=True)
        self._thread.start()
        if not self._settled.wait(timeout_s):
            self.stop()
            raise RuntimeError(f"faultproxy did not start within {timeout_s:.1f}s")
        if self._error is not None:
            raise RuntimeError(f"faultproxy failed to start: {self._error}") from self._error
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve())
        except BaseException as exc:  # reported to the thread that called start()
            self._error = exc
            log.exception("faultproxy server stopped with an error")
        finally:
            self._settled.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._server.request_stop()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def __enter__(self) -> BackgroundFaultProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
