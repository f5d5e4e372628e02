"""Fixtures for the SDK tests: one in-process standalone COS per session, on a loopback port."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from companyos.server import BackgroundServer
from companyos.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def cos_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(port=_free_port(), data_dir=tmp_path_factory.mktemp("sdk-cos") / "data")
    server = BackgroundServer(settings)
    yield server.start()
    server.stop()
