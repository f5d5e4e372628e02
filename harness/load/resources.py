"""CPU and memory of the processes under load, sampled with psutil while k6 runs.

Why: on a 2-core machine k6, COS and MC share the CPU, so a latency figure means little
without knowing who was busy. CPU % is psutil's per-process figure (100 % = one core
fully used, so up to 200 % here) and includes the process's children (e.g. uvicorn
workers); RSS likewise sums the process tree. The ``system`` entry is the whole
machine: CPU 0–100 % of all cores, and memory in use (MB) in place of RSS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import psutil

SYSTEM = "system"


@dataclass(frozen=True)
class ResourceStats:
    """What one sampled process (tree) used while the load ran."""

    label: str
    pid: int | None
    samples: int
    cpu_mean_pct: float
    cpu_max_pct: float
    rss_max_mb: float

    def describe(self) -> str:
        return (
            f"{self.label}: CPU mean {self.cpu_mean_pct:.0f} % / max {self.cpu_max_pct:.0f} %, "
            f"RSS max {self.rss_max_mb:.0f} MB ({self.samples} samples)"
        )


def _labelled(pids: Mapping[str, int] | Iterable[int]) -> dict[str, int]:
    if isinstance(pids, Mapping):
        return {str(k): int(v) for k, v in pids.items()}
    return {f"pid {int(p)}": int(p) for p in pids}


class _Tree:
    """A process and its descendants, with psutil's cpu_percent primed per process."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.procs: dict[int, psutil.Process] = {}
        self.gone = False

    def sample(self) -> tuple[float, float] | None:
        try:
            root = psutil.Process(self.pid) if self.pid not in self.procs else self.procs[self.pid]
            members = [root, *root.children(recursive=True)]
        except psutil.Error:
            self.gone = True
            return None
        cpu = 0.0
        rss = 0
        fresh = {}
        for p in members:
            known = self.procs.get(p.pid, p)
            try:
                pct = known.cpu_percent(None)  # first call per process primes and returns 0.0
                rss += known.memory_info().rss
            except psutil.Error:
                continue
            if p.pid in self.procs:
                cpu += pct
            fresh[p.pid] = known
        self.procs = fresh
        return cpu, rss / (1024 * 1024)


class ResourceSampler:
    """Background sampling of labelled PIDs every `interval_s` until `stop()`.

    Use as a context manager or call `start()`/`stop()`; `add()` registers a process
    started later (the k6 process itself). A PID that exits is simply no longer sampled.
    """

    def __init__(
        self, pids: Mapping[str, int] | Iterable[int] = (), interval_s: float = 0.5, system: bool = True
    ) -> None:
        self.interval_s = interval_s
        self._trees: dict[str, _Tree] = {}
        self._cpu: dict[str, list[float]] = {}
        self._rss: dict[str, list[float]] = {}
        self._system = system
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        for label, pid in _labelled(pids).items():
            self.add(label, pid)

    def add(self, label: str, pid: int) -> None:
        with self._lock:
            tree = _Tree(pid)
            tree.sample()  # prime cpu_percent so the first real sample covers an interval
            self._trees[label] = tree
            self._cpu.setdefault(label, [])
            self._rss.setdefault(label, [])

    def start(self) -> ResourceSampler:
        if self._system:
            psutil.cpu_percent(None)
            self._cpu.setdefault(SYSTEM, [])
        self._thread = threading.Thread(target=self._run, name="resource-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample_once()

    def sample_once(self) -> None:
        with self._lock:
            for label, tree in self._trees.items():
                if tree.gone:
                    continue
                got = tree.sample()
                if got is not None:
                    self._cpu[label].append(got[0])
                    self._rss[label].append(got[1])
            if self._system:
                self._cpu[SYSTEM].append(psutil.cpu_percent(None))
                self._rss.setdefault(SYSTEM, []).append(psutil.virtual_memory().used / (1024 * 1024))

    def stop(self) -> dict[str, ResourceStats]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return self.stats()

    def stats(self) -> dict[str, ResourceStats]:
        with self._lock:
            out: dict[str, ResourceStats] = {}
            for label, cpu in self._cpu.items():
                rss = self._rss.get(label, [])
                tree = self._trees.get(label)
                out[label] = ResourceStats(
                    label=label,
                    pid=tree.pid if tree else None,
                    samples=len(cpu),
                    cpu_mean_pct=sum(cpu) / len(cpu) if cpu else 0.0,
                    cpu_max_pct=max(cpu, default=0.0),
                    rss_max_mb=max(rss, default=0.0),
                )
            return out

    def __enter__(self) -> ResourceSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def sample_while(pids: Mapping[str, int] | Iterable[int], seconds: float, interval_s: float = 0.5) -> dict:
    """Sample for a fixed time (a convenience for ad-hoc measurements)."""
    with ResourceSampler(pids, interval_s) as sampler:
        time.sleep(seconds)
    return sampler.stats()
