"""Fixtures for the COS tests: in-process COS servers, and one real MC subprocess per session.

COS runs in-process (uvicorn in a thread on a loopback port) so tests can
also look at its internals (`handle.cos`); MC is the real `python -m
conductor` as a subprocess, reset before each test that uses it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cos_helpers import MC, free_port, login, start_mc, wait_for

from companyos.app import Services
from companyos.server import BackgroundServer
from companyos.settings import Settings
from companyos.users import UserStore


@dataclass
class CosHandle:
    url: str
    server: BackgroundServer
    settings: Settings

    @property
    def cos(self) -> Services:
        return self.server.app.state.cos

    def token(self) -> str:
        return login(self.url)

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture(scope="session")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The development users file, hashed once per session (argon2 costs ~0.25 s per hash)."""
    path = tmp_path_factory.mktemp("users") / "users.json"
    UserStore.load(path)
    return path


@pytest.fixture
def start_cos(tmp_path: Path, users_file: Path) -> Iterator[Callable[..., CosHandle]]:
    """Start a COS on a free port; keyword arguments override Settings fields."""
    started: list[CosHandle] = []

    def start(**overrides: Any) -> CosHandle:
        base: dict[str, Any] = {"port": free_port(), "data_dir": tmp_path / "cos", "poll_interval_s": 0.2}
        base.update(overrides)
        if "users_file" not in base and not (base["data_dir"] / "users.json").exists():
            base["data_dir"].mkdir(parents=True, exist_ok=True)
            shutil.copy(users_file, base["data_dir"] / "users.json")
        settings = Settings(**base)
        server = BackgroundServer(settings)
        handle = CosHandle(url=server.start(), server=server, settings=settings)
        started.append(handle)
        return handle

    yield start
    for handle in reversed(started):
        handle.stop()


@pytest.fixture(scope="session")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CosHandle]:
    """One standalone COS shared by the tests that do not depend on a clean slate
    (each uses its own idempotency keys); tests needing isolation use `start_cos`."""
    settings = Settings(port=free_port(), data_dir=tmp_path_factory.mktemp("cos-shared") / "data")
    server = BackgroundServer(settings)
    handle = CosHandle(url=server.start(), server=server, settings=settings)
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def token(standalone: CosHandle) -> str:
    return standalone.token()


@pytest.fixture(scope="session")
def mc_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MC]:
    proc = start_mc(tmp_path_factory.mktemp("mc") / "data")
    mc = MC(url=proc.url, proc=proc)
    yield mc
    mc.http.close()
    proc.stop()


@pytest.fixture
def mc(mc_session: MC) -> MC:
    """The session's MC, reset to its seed pack and an empty evidence ledger."""
    mc_session.reset()
    return mc_session


@pytest.fixture
def integrated(start_cos: Callable[..., CosHandle], mc: MC) -> CosHandle:
    """An integrated COS enforcing MC's seed pack, with MC's receipts pointed at it."""
    handle = start_cos(mode="integrated", mc_url=mc.url)
    mc.set_callback(handle.url)
    wait_for(
        "COS to enforce MC's pack",
        lambda: httpx.get(f"{handle.url}/v1/attestation").json()["source"] == "mc",
    )
    return handle


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """A generated body is named by its size, not its bytes: its release and digest are random, and
    pytest-xdist's workers must collect the same test ids (the unit stage runs with `-n 2`)."""
    if isinstance(val, bytes) and len(val) > 32:
        return f"{argname}-{len(val)}B"
    return None
