"""Mutation proof: every contract-visible seam mutation must make a passing interaction fail.

The catalogue is the `## Contract mutations` table of docs/mutations.md (the behavioural table
below it belongs to the E2E/faults proof and is not read here).

Accounting, so that "caught" means something:

1. **Baseline first.** Each provider is verified with no mutation against its committed pacts.
   The interactions that pass there are the only ones that can catch anything. If a baseline
   does not pass completely, the run says so and counts *nothing* as caught (a provider that is
   broken anyway proves nothing about a mutation) and no mutation is run.
2. **Caught** = at least one interaction that passed on the baseline fails under the mutation
   with a real mismatch (the provider answered differently from the contract). A state-setup
   error alone, or a failure of an interaction that also failed on the baseline, does not count.

Speed: every run (baselines, then each mutation) is one provider process verified once; the
runs are independent, so they go through a pool of worker *processes* (the Pact verifier writes
to fds 1/2, which a thread pool would share). `CONTRACTS_MUTATION_WORKERS` sets the pool size.

`also` (tests only) applies extra SEAM_MUTATIONS to every run, the baseline included: that is
how tests/contracts/test_contract_mutation_accounting.py breaks a provider in a way unrelated to
the mutation under test and shows the run refuses to count it.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from contracts import COS, MC, REPO, pactfile, verify

CATALOGUE = REPO / "docs" / "mutations.md"
GENERATED = REPO / "docs" / "mutations-contracts.md"
SECTION = "## Contract mutations"
_ROW = re.compile(r"^\|\s*`((?:mc|cos)\.[a-z0-9-]+)`\s*\|\s*(MC|COS)\s*\|\s*(.+?)\s*\|\s*$")
DEFAULT_WORKERS = 3


@dataclass(frozen=True)
class Entry:
    name: str
    provider: str
    breaks: str


@dataclass
class Run:
    """One verification of one provider (baseline or under a mutation), reduced to plain data."""

    provider: str
    seam_mutations: str
    seconds: float
    interactions: list[str] = field(default_factory=list)  # "consumer: description"
    mismatches: dict[str, str] = field(default_factory=dict)  # interaction → first mismatch
    errors: dict[str, str] = field(default_factory=dict)  # interaction → setup/transport error
    crashed: str | None = None  # the provider did not start, or the run raised

    @property
    def failed(self) -> set[str]:
        return set(self.mismatches) | set(self.errors)

    @property
    def ok(self) -> bool:
        return self.crashed is None and not self.failed and bool(self.interactions)


@dataclass
class MutationResult:
    name: str
    provider: str
    breaks: str
    caught: bool
    seconds: float
    caught_by: list[str] = field(default_factory=list)  # "consumer: interaction — first mismatch"
    error: str | None = None


@dataclass
class Proof:
    baselines: list[Run]
    results: list[MutationResult]
    wall_seconds: float

    @property
    def baseline_ok(self) -> bool:
        return bool(self.baselines) and all(b.ok for b in self.baselines)

    @property
    def caught(self) -> int:
        return sum(r.caught for r in self.results)

    @property
    def ok(self) -> bool:
        return self.baseline_ok and bool(self.results) and self.caught == len(self.results)


def catalogue(path: Path = CATALOGUE) -> list[Entry]:
    """(name, provider, what breaks) for every row of the contract mutations table only."""
    rows: list[Entry] = []
    inside = False
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("## "):
            inside = line.strip() == SECTION
            continue
        m = _ROW.match(line) if inside else None
        if m:
            rows.append(Entry(m.group(1), MC if m.group(2) == "MC" else COS, m.group(3)))
    return rows


def _join(*names: str) -> str:
    return ",".join(n for n in names if n)


def verify_once(provider: str, seam_mutations: str) -> Run:
    """Worker body: start `provider` with these mutations, verify its pacts, report plainly."""
    started = time.monotonic()
    run = Run(provider, seam_mutations, 0.0)
    try:
        outcomes = verify.verify_provider(provider, mutations=seam_mutations, record=False)
    except Exception as exc:  # noqa: BLE001 - a provider that cannot start is reported, never caught
        run.crashed = f"{type(exc).__name__}: {exc}"[:500]
        run.seconds = time.monotonic() - started
        return run
    for o in outcomes:
        consumer = o.consumer
        for interaction in pactfile.load(o.pact_file).get("interactions", []):
            run.interactions.append(f"{consumer}: {interaction['description']}")
        for f in o.failures:
            key = f"{consumer}: {f.description}"
            target = run.mismatches if f.kind == "mismatch" else run.errors
            target.setdefault(key, f.detail)
    run.seconds = time.monotonic() - started
    return run


def judge(entry: Entry, baseline: Run, run: Run) -> MutationResult:
    """Caught iff an interaction that passed on the baseline fails under the mutation (mismatch)."""
    if not baseline.ok:
        return MutationResult(
            entry.name, entry.provider, entry.breaks, False, run.seconds, error="baseline failed: not counted"
        )
    if run.crashed:
        return MutationResult(entry.name, entry.provider, entry.breaks, False, run.seconds, error=run.crashed)
    passed_before = set(baseline.interactions) - baseline.failed
    caught_by = [f"{key} — {detail}" for key, detail in run.mismatches.items() if key in passed_before]
    return MutationResult(entry.name, entry.provider, entry.breaks, bool(caught_by), run.seconds, caught_by)


def workers() -> int:
    return max(1, int(os.environ.get("CONTRACTS_MUTATION_WORKERS") or DEFAULT_WORKERS))


def prove(
    names: list[str] | None = None,
    progress: Callable[[MutationResult], None] | None = None,
    *,
    also: str = "",
    announce: Callable[[str], None] | None = None,
) -> Proof:
    """Baselines, then (only if they pass) every selected mutation, in a process pool."""
    started = time.monotonic()
    entries = [e for e in catalogue() if not names or e.name in names]
    unknown = sorted(set(names or ()) - {e.name for e in catalogue()})
    if unknown:
        raise ValueError(f"not in the contract mutations table: {', '.join(unknown)}")
    providers = sorted({e.provider for e in entries}) or [MC, COS]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers(), mp_context=context) as pool:
        base_futures = {p: pool.submit(verify_once, p, also) for p in providers}
        baselines = {p: f.result() for p, f in base_futures.items()}
        for b in baselines.values():
            if announce:
                announce(baseline_line(b))
        if not all(b.ok for b in baselines.values()):
            results = [judge(e, baselines[e.provider], Run(e.provider, "", 0.0)) for e in entries]
            return Proof(list(baselines.values()), results, time.monotonic() - started)
        futures = {pool.submit(verify_once, e.provider, _join(also, e.name)): e for e in entries}
        by_name: dict[str, MutationResult] = {}
        for future in as_completed(futures):
            entry = futures[future]
            result = judge(entry, baselines[entry.provider], future.result())
            by_name[entry.name] = result
            if progress:
                progress(result)
    results = [by_name[e.name] for e in entries]
    return Proof(list(baselines.values()), results, time.monotonic() - started)


def baseline_line(b: Run) -> str:
    if b.ok:
        return f"baseline {b.provider}: {len(b.interactions)} interactions pass ({b.seconds:.1f}s)"
    if b.crashed:
        return f"baseline {b.provider}: FAILED — provider did not run: {b.crashed}"
    failed = sorted(b.failed)
    return (
        f"baseline {b.provider}: FAILED — {len(failed)} of {len(b.interactions)} interactions fail "
        f"with no mutation ({'; '.join(failed[:5])}); no mutation is counted as caught"
    )


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def table(results: list[MutationResult]) -> str:
    rows = [
        "| mutation | provider | caught | seconds | caught by (interactions that passed on the baseline) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        if r.caught_by:
            first = r.caught_by[0]
            names = [c.split(" — ", 1)[0] for c in r.caught_by[1:]]
            more = f"; also: {'; '.join(names)}" if names else ""
            shown = _cell(first) + _cell(more, 400)
        else:
            shown = _cell(r.error or "no interaction that passed on the baseline failed")
        verdict = "yes" if r.caught else "NO"
        rows.append(f"| `{r.name}` | {r.provider} | {verdict} | {r.seconds:.1f} | {shown} |")
    return "\n".join(rows)


def summary(proof: Proof) -> str:
    if not proof.baseline_ok:
        verdict = "baseline FAILED: nothing counted as caught"
    else:
        verdict = f"{proof.caught} of {len(proof.results)} contract mutations caught"
    return f"{verdict}; wall time {proof.wall_seconds:.1f}s with {workers()} worker processes"


def report(proof: Proof) -> str:
    lines = [baseline_line(b) for b in proof.baselines]
    return "\n".join([*lines, "", table(proof.results), "", summary(proof)])


def markdown(proof: Proof) -> str:
    """docs/mutations-contracts.md: generated from a run, never edited by hand."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return "\n".join(
        [
            "# Contract mutations: what caught each one (generated)",
            "",
            "<!-- Generated by `.venv/bin/python -m contracts mutations`; do not edit by hand. -->",
            "",
            f"Run of {when}. The catalogue is the `Contract mutations` table of",
            "[mutations.md](mutations.md); accounting, speed: [contracts.md](contracts.md#mutation-proof).",
            "",
            *(f"- {baseline_line(b)}" for b in proof.baselines),
            f"- **{summary(proof)}**",
            "",
            table(proof.results),
            "",
        ]
    )
