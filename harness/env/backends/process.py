"""`backend=process` (the default): MC, the fault proxy and COS as subprocesses.

Free loopback ports, a temp data dir per service, readiness by polling
`/readyz` with a bounded budget. Integrated wiring: COS → fault proxy → MC,
MC → COS for receipt callbacks, and COS pinned to MC's public key fetched
directly from MC (not through the proxy a fault scenario may be breaking).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.env.environments import COS, MC, PROXY, BackendError, Credentials, Endpoints, Environment
from harness.kit import processes
from harness.kit.ports import LOOPBACK, free_port
from harness.kit.processes import ManagedProcess
from harness.kit.readiness import NotReady, http_ready, wait_until

REPO = Path(__file__).resolve().parents[3]
READY_BUDGET_S = 30.0


@dataclass
class _Service:
    name: str
    port: int
    data_dir: Path
    argv_for: object  # Callable[[], list[str]]
    ready_url: str
    env: dict[str, str] = field(default_factory=dict)
    process: ManagedProcess | None = None


class ProcessControl:
    def __init__(self, backend: ProcessBackend) -> None:
        self._b = backend

    def stop(self, service: str) -> None:
        self._b.service(service).process.stop()  # type: ignore[union-attr]

    def kill(self, service: str) -> None:
        self._b.service(service).process.kill()  # type: ignore[union-attr]

    def start(self, service: str, fresh_data: bool = False) -> float:
        return self._b.launch(service, fresh_data=fresh_data)

    def running(self, service: str) -> bool:
        proc = self._b.service(service).process
        return proc is not None and proc.alive()

    def logs(self, service: str) -> str:
        proc = self._b.service(service).process
        return proc.log_tail() if proc else ""

    def pids(self) -> dict[str, int]:
        return {n: s.process.pid for n, s in self._b.services.items() if s.process and s.process.alive()}


class ProcessBackend:
    def __init__(self, mode: str, userdata: dict[str, str]) -> None:
        self.mode = mode
        self.userdata = userdata
        self.services: dict[str, _Service] = {}
        self.root = Path(tempfile.mkdtemp(prefix=f"cos-pact-e2e-{mode}-"))
        self.log_dir = Path(userdata.get("log_dir", REPO / "reports" / "logs")) / mode
        self.poll_interval = userdata.get("poll_interval", "0.5")
        self.extra_env = {k.removeprefix("env."): v for k, v in userdata.items() if k.startswith("env.")}

    def service(self, name: str) -> _Service:
        try:
            return self.services[name]
        except KeyError:
            raise BackendError(f"{name} is not part of the {self.mode} environment") from None

    @contextmanager
    def running(self) -> Iterator[Environment]:
        try:
            env = self._bring_up()
            yield env
        finally:
            for name in (COS, PROXY, MC):
                svc = self.services.get(name)
                if svc and svc.process:
                    svc.process.stop()
            shutil.rmtree(self.root, ignore_errors=True)

    def launch(self, name: str, fresh_data: bool = False) -> float:
        """Start (or restart) one service and wait until it is ready; returns seconds."""
        svc = self.service(name)
        if svc.process and svc.process.alive():
            svc.process.stop()
        if fresh_data:
            shutil.rmtree(svc.data_dir, ignore_errors=True)
        svc.data_dir.mkdir(parents=True, exist_ok=True)
        svc.process = ManagedProcess(
            name=name,
            argv=svc.argv_for(),  # type: ignore[operator]
            log_path=self.log_dir / f"{name}.log",
            env={**svc.env, **self.extra_env},
        ).start()
        try:
            ready = wait_until(
                f"{name} at {svc.ready_url}",
                http_ready(svc.ready_url),
                READY_BUDGET_S,
                alive=svc.process.alive,
            )
        except NotReady as exc:
            raise BackendError(f"{exc}\n--- {name} log ---\n{svc.process.log_tail(4000)}") from exc
        return ready.seconds

    def _bring_up(self) -> Environment:
        creds = Credentials()
        cos_port = free_port()
        cos_url = f"http://{LOOPBACK}:{cos_port}"
        timings: dict[str, float] = {}
        endpoints = Endpoints(cos_url=cos_url)
        cos_args = [
            "--host",
            LOOPBACK,
            "--port",
            str(cos_port),
            "--data-dir",
            str(self.root / COS),
            "--allow-test-hooks",  # the suite's own loopback services: -D env.SEAM_MUTATIONS=… works
        ]
        if self.mode == "integrated":
            mc_port, api_port, listen_port, admin_port = free_port(), free_port(), free_port(), free_port()
            mc_url = f"http://{LOOPBACK}:{mc_port}"
            self.services[MC] = _Service(
                MC,
                mc_port,
                self.root / MC,
                lambda: processes.python_module(
                    "conductor",
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(mc_port),
                    "--admin-port",
                    str(admin_port),
                    "--data-dir",
                    str(self.root / MC),
                    "--callback-url",
                    f"{cos_url}/v1/callbacks/evidence-receipts",
                    "--allow-test-hooks",  # the suite's own loopback services: -D env.SEAM_MUTATIONS=… works
                ),
                f"{mc_url}/readyz",
            )
            t0 = time.monotonic()
            timings["mc_launch_to_ready_s"] = self.launch(MC)
            key_path = self.root / "mc-signing.pem"
            key_path.write_text(httpx.get(f"{mc_url}/v1/keys/signing.pem", timeout=5).text)
            self.services[PROXY] = _Service(
                PROXY,
                api_port,
                self.root / PROXY,
                lambda: processes.python_module(
                    "faultproxy",
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(api_port),
                    "--proxy",
                    f"mc={LOOPBACK}:{listen_port}={LOOPBACK}:{mc_port}",
                ),
                f"http://{LOOPBACK}:{api_port}/version",
            )
            timings["faultproxy_launch_to_ready_s"] = self.launch(PROXY)
            cos_args += [
                "--mode",
                "integrated",
                "--mc-url",
                f"http://{LOOPBACK}:{listen_port}",
                "--mc-public-key",
                str(key_path),
                "--poll-interval",
                self.poll_interval,
            ]
            endpoints = Endpoints(
                cos_url=cos_url,
                mc_url=mc_url,
                mc_admin_url=f"http://{LOOPBACK}:{admin_port}",
                toxiproxy_url=f"http://{LOOPBACK}:{api_port}",
                mc_proxy_name="mc",
            )
            timings["mc_and_proxy_s"] = time.monotonic() - t0
        self.services[COS] = _Service(
            COS,
            cos_port,
            self.root / COS,
            lambda: processes.python_module("companyos", *cos_args),
            f"{cos_url}/readyz",
        )
        timings["cos_launch_to_ready_s"] = self.launch(COS)
        return Environment(
            mode=self.mode,
            backend="process",
            endpoints=endpoints,
            credentials=creds,
            control=ProcessControl(self),
            timings=timings,
        )
