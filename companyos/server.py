"""Run a COS app under uvicorn: in the foreground (`__main__`) or in a thread (tests, tools).

One worker, access log off: the access log would cost more than a decision
on the read path, and COS's state (policy engine, outbox writer) is
per-process by design. `BackgroundServer` exists so tests and the seam
measurement tool get a real HTTP server on a loopback port in-process.
"""

from __future__ import annotations

import logging
import threading
import time

import httpx
import uvicorn

from companyos.app import create_app
from companyos.settings import Settings
from seam import connections

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request lines add noise, never secrets
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def uvicorn_config(settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        workers=1,
        access_log=False,
        log_config=None,
        log_level=settings.log_level,
        lifespan="on",
        timeout_graceful_shutdown=5,
        **connections.server_options(settings.header_timeout_s),
    )


def serve(settings: Settings) -> None:
    uvicorn.Server(uvicorn_config(settings)).run()


class BackgroundServer:
    """A COS on a loopback port in a daemon thread; `with BackgroundServer(s) as url: …`."""

    def __init__(self, settings: Settings, ready_timeout_s: float = 15.0) -> None:
        self.settings = settings
        self.server = uvicorn.Server(uvicorn_config(settings))
        self.server.config.install_signal_handlers = False  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self.server.run, name=f"cos-{settings.port}", daemon=True)
        self._ready_timeout_s = ready_timeout_s

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    @property
    def app(self):  # noqa: ANN201 - the Starlette app, for tests that inspect app.state.cos
        return self.server.config.app

    def start(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + self._ready_timeout_s
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise RuntimeError("COS server thread exited during start")
            try:
                if httpx.get(self.url + "/readyz", timeout=1.0).status_code == 200:
                    return self.url
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"COS at {self.url} not ready within {self._ready_timeout_s}s")

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
