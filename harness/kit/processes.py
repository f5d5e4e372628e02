"""Subprocesses that cannot outlive the suite.

Each child runs in its own session (so a whole process group can be signalled)
and asks the kernel to SIGKILL it if the parent dies (PR_SET_PDEATHSIG), so a
Ctrl-C, a crashed behave or a failed start never leaves a service behind.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_live: set[ManagedProcess] = set()
_lock = threading.Lock()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


@dataclass(eq=False)
class ManagedProcess:
    """One service subprocess with its log file; `stop` is idempotent."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        with _lock:
            _live.add(self)
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_code(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def kill(self) -> None:
        """SIGKILL the whole group at once: the 'crash' the fault scenarios need."""
        self._signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait(timeout=10)
        with _lock:
            _live.discard(self)

    def stop(self, grace_s: float = 5.0) -> None:
        if not self.proc or self.proc.poll() is not None:
            with _lock:
                _live.discard(self)
            return
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        with _lock:
            _live.discard(self)

    def log_tail(self, max_bytes: int = 20_000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-max_bytes:].decode("utf-8", "replace")

    def _signal(self, sig: signal.Signals) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass


def python_module(module: str, *args: str) -> list[str]:
    """argv for running a module with the same interpreter as the suite."""
    return [sys.executable, "-m", module, *args]


def stop_all() -> None:
    with _lock:
        live = list(_live)
    for proc in live:
        proc.stop(grace_s=2.0)


atexit.register(stop_all)
