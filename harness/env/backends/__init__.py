"""Backends bring an Environment up and down: process (default), external, compose."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from harness.env.environments import BackendError, Environment


@contextmanager
def open_environment(backend: str, mode: str, userdata: dict[str, str]) -> Iterator[Environment]:
    """Bring up `mode` on `backend`; always tears down, even when start fails half way."""
    if backend == "process":
        from harness.env.backends.process import ProcessBackend

        with ProcessBackend(mode, userdata).running() as env:
            yield env
    elif backend == "external":
        from harness.env.backends.external import external_environment

        yield external_environment(mode, userdata)
    elif backend == "compose":
        from harness.env.backends.compose import ComposeBackend

        with ComposeBackend(mode, userdata).running() as env:
            yield env
    else:
        raise BackendError(f"unknown backend {backend!r}; use process, external or compose")
