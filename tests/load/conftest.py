"""Fixtures for the load tests: a real COS (standalone) or the plumbing stand-in, each a
subprocess on a free loopback port with readiness polled under a bound."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.kit.ports import LOOPBACK, free_port
from harness.kit.processes import ManagedProcess, python_module
from harness.kit.readiness import NotReady, http_ready, wait_until

HERE = Path(__file__).resolve().parent
READY_BUDGET_S = 30.0
USERNAME, PASSWORD = "qa", "qa-dev-password"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests using `start_cos` skip only while the companyos package does not exist yet."""
    if importlib.util.find_spec("companyos") is not None:
        return
    skip = pytest.mark.skip(reason="companyos is not importable yet (COS not built)")
    for item in items:
        if "start_cos" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.fixture
def credentials() -> tuple[str, str]:
    """COS's development user (standalone users file)."""
    return USERNAME, PASSWORD


@dataclass
class Service:
    url: str
    process: ManagedProcess

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid


def _start(name: str, argv: list[str], port: int, log_dir: Path) -> Service:
    proc = ManagedProcess(name=name, argv=argv, log_path=log_dir / f"{name}.log").start()
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_until(f"{name} at {url}", http_ready(f"{url}/readyz"), READY_BUDGET_S, alive=proc.alive)
    except NotReady as exc:
        proc.stop()
        raise RuntimeError(f"{exc}\n--- {name} log ---\n{proc.log_tail(4000)}") from exc
    return Service(url=url, process=proc)


@pytest.fixture
def start_cos(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """start_cos(latency_ms=0) -> a standalone COS with its own data dir."""
    started: list[Service] = []

    def start(latency_ms: int = 0) -> Service:
        port = free_port()
        argv = python_module(
            "companyos", "--host", LOOPBACK, "--port", str(port), "--data-dir", str(tmp_path / f"cos-{port}")
        )
        if latency_ms:
            argv += ["--test-latency-ms", str(latency_ms), "--allow-test-hooks"]
        svc = _start("companyos", argv, port, tmp_path / "logs")
        started.append(svc)
        return svc

    yield start
    for svc in started:
        svc.process.stop()


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[Service]:
    """The recording stand-in (tests/load/standin_cos.py) — plumbing only, never budgets."""
    port = free_port()
    svc = _start(
        "standin", [sys.executable, str(HERE / "standin_cos.py"), str(port)], port, tmp_path / "logs"
    )
    yield svc
    svc.process.stop()
