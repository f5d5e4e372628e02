"""Mutation proof: every test-only seam mutation must make the contracts fail.

For each mutation in docs/mutations.md: start the affected provider once with
`SEAM_MUTATIONS=<name>`, verify the committed pacts *for that provider only*, and require at
least one interaction to fail with a real mismatch (the provider answered differently from the
contract) — a failure of state setup alone does not count as caught. Nothing is recorded in
the matrix.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from contracts import COS, MC, REPO, verify

CATALOGUE = REPO / "docs" / "mutations.md"
_ROW = re.compile(r"^\|\s*`((?:mc|cos)\.[a-z0-9-]+)`\s*\|\s*(MC|COS)\s*\|\s*(.+?)\s*\|\s*$")


@dataclass
class MutationResult:
    name: str
    provider: str
    breaks: str
    caught: bool
    seconds: float
    caught_by: list[str] = field(default_factory=list)  # "interaction: first mismatch"
    error: str | None = None


def catalogue() -> list[tuple[str, str, str]]:
    """(name, provider, what breaks) for every row of the mutations table."""
    rows = []
    for line in CATALOGUE.read_text("utf-8").splitlines():
        m = _ROW.match(line)
        if m:
            rows.append((m.group(1), MC if m.group(2) == "MC" else COS, m.group(3)))
    return rows


def prove_one(name: str, provider: str, breaks: str = "") -> MutationResult:
    started = time.monotonic()
    try:
        outcomes = verify.verify_provider(provider, mutations=name, record=False)
    except Exception as exc:  # noqa: BLE001 - a provider that cannot start is reported, not caught
        return MutationResult(name, provider, breaks, False, time.monotonic() - started, error=str(exc)[:500])
    caught_by = [f"{f.description}: {f.detail}" for o in outcomes for f in o.mismatches]
    return MutationResult(name, provider, breaks, bool(caught_by), time.monotonic() - started, caught_by)


def prove(names: list[str] | None = None, progress=None) -> list[MutationResult]:
    results = []
    for name, provider, breaks in catalogue():
        if names and name not in names:
            continue
        result = prove_one(name, provider, breaks)
        if progress:
            progress(result)
        results.append(result)
    return results


def table(results: list[MutationResult]) -> str:
    rows = [
        "| mutation | provider | caught | seconds | caught by (first mismatch) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        first = r.caught_by[0] if r.caught_by else (r.error or "no interaction failed")
        more = f" (+{len(r.caught_by) - 1} more)" if len(r.caught_by) > 1 else ""
        first = first.replace("|", "\\|")
        if len(first) > 120:
            first = first[:117] + "..."
        rows.append(
            f"| `{r.name}` | {r.provider} | {'yes' if r.caught else 'NO'} | {r.seconds:.1f} | {first}{more} |"
        )
    return "\n".join(rows)
