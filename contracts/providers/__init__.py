"""The real providers under verification, and the provider states each one can be put in.

`start(provider, mutations)` runs one provider as a subprocess on a free loopback port with a
fresh temp data dir and test-only credentials generated for this run, waits for `/readyz`, and
yields a `Running` (base URL + state registry). States are set up only through the
provider's own interfaces: MC's admin and public APIs, COS's public API and its users file.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from contracts import COS, MC, REPORT_DIR
from contracts.providers.stateserver import StateRegistry
from harness.kit.processes import ManagedProcess
from harness.kit.readiness import NotReady, http_ready, wait_until

READY_BUDGET_S = 30.0


@dataclass
class Running:
    """A provider under verification. `routes` sends the interactions of some provider states
    to another instance of the same provider (COS integrated with a real MC, next to the
    standalone COS); `helpers` are the processes behind those routes."""

    name: str
    base_url: str
    registry: StateRegistry
    process: ManagedProcess
    routes: dict[str, str] = field(default_factory=dict)
    helpers: list[ManagedProcess] = field(default_factory=list)

    def log_tail(self, max_bytes: int = 6000) -> str:
        tails = [self.process.log_tail(max_bytes)]
        tails += [f"--- {p.name} ---\n{p.log_tail(max_bytes // 2)}" for p in self.helpers]
        return "\n".join(tails)


def spawn(name: str, argv: list[str], env: dict[str, str], log_name: str) -> ManagedProcess:
    """Start a provider process without waiting (several can then start side by side)."""
    log_path = REPORT_DIR / "logs" / f"{log_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_bytes(b"")
    return ManagedProcess(name=name, argv=argv, log_path=log_path, env=env).start()


def await_ready(proc: ManagedProcess, ready_url: str) -> ManagedProcess:
    """Wait for `ready_url`; a process that dies or stays unready is stopped and reported."""
    try:
        wait_until(f"{proc.name} at {ready_url}", http_ready(ready_url), READY_BUDGET_S, alive=proc.alive)
    except NotReady as exc:
        proc.stop()
        raise RuntimeError(f"{exc}\n--- {proc.name} log ---\n{proc.log_tail(4000)}") from exc
    return proc


def launch(name: str, argv: list[str], env: dict[str, str], ready_url: str, log_name: str) -> ManagedProcess:
    return await_ready(spawn(name, argv, env, log_name), ready_url)


@contextmanager
def start(provider: str, mutations: str = "") -> Iterator[Running]:
    """Start `provider` (MC or COS) with `SEAM_MUTATIONS=mutations`; stop it afterwards."""
    from contracts.providers import companyos, conductor

    module = {MC: conductor, COS: companyos}[provider]
    root = Path(tempfile.mkdtemp(prefix=f"contracts-{provider}-"))
    try:
        with module.running(root, mutations) as running:
            yield running
    finally:
        shutil.rmtree(root, ignore_errors=True)
