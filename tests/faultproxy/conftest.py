"""Fixtures: one in-process faultproxy for the session, loopback upstreams, a clean client per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from faultproxy_support import MEASURED, ProxyUnderTest, Upstream, start_upstream

from faultproxy.client import ToxiproxyClient
from faultproxy.server import BackgroundFaultProxy


@pytest.fixture(scope="session")
def server() -> Iterator[BackgroundFaultProxy]:
    with BackgroundFaultProxy() as fp:
        yield fp


@pytest.fixture
def tp(server: BackgroundFaultProxy) -> Iterator[ToxiproxyClient]:
    """A client on the shared server; every proxy a test made is deleted afterwards."""
    client = ToxiproxyClient(server.url, timeout_s=5.0)
    try:
        yield client
    finally:
        for name in client.list():
            client.delete_proxy(name)
        client.close()


@pytest.fixture(scope="session")
def echo_upstream() -> Iterator[Upstream]:
    upstream = start_upstream("echo")
    yield upstream
    upstream.stop()


@pytest.fixture(scope="session")
def blob_upstream() -> Iterator[Upstream]:
    upstream = start_upstream("blob")
    yield upstream
    upstream.stop()


@pytest.fixture
def echo_proxy(tp: ToxiproxyClient, echo_upstream: Upstream) -> ProxyUnderTest:
    proxy = tp.create_proxy("echo", listen="127.0.0.1:0", upstream=echo_upstream.address)
    return ProxyUnderTest(proxy["name"], proxy["listen"])


@pytest.fixture
def blob_proxy(tp: ToxiproxyClient, blob_upstream: Upstream) -> ProxyUnderTest:
    proxy = tp.create_proxy("blob", listen="127.0.0.1:0", upstream=blob_upstream.address)
    return ProxyUnderTest(proxy["name"], proxy["listen"])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASURED:
        terminalreporter.write_sep("-", "faultproxy measurements")
        for name, value in sorted(MEASURED.items()):
            terminalreporter.write_line(f"{name}: {value}")
