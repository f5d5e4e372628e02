"""The verification matrix (a file) and the offline `can-i-deploy` that answers from it.

Every provider verification of a committed pact adds (or replaces) one row keyed by
(consumer, consumer version, provider, provider version, pact sha256) with the result, the
interaction counts and the time. The file is a generated artefact: `reports/contracts/matrix.json`
by default (`CONTRACTS_MATRIX` or `--matrix` to point elsewhere, e.g. a CI cache), never
committed. CI keeps it across runs (a cache restored before and saved after the contracts
stage, plus `merge` of an earlier run's artifact), so can-i-deploy also answers for versions
verified by earlier runs. It plays the part of the Pact Broker's matrix when no broker is reachable.

can-i-deploy `P` at version `V`: for every integration P takes part in (from the committed
pacts), the most recent row with P at V — optionally pinned to a counterpart version with
`--with other=version` — must be a success. No row is a "no" (unverified is not deployable).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from contracts import PACT_DIR, REPORT_DIR, pactfile

DEFAULT_PATH = REPORT_DIR / "matrix.json"


def matrix_path(path: Path | None = None) -> Path:
    return path or Path(os.environ.get("CONTRACTS_MATRIX") or DEFAULT_PATH)


@dataclass
class Row:
    consumer: str
    consumer_version: str
    provider: str
    provider_version: str
    pact_sha256: str
    success: bool
    interactions: int
    failed: int
    verified_at: str
    pact_file: str = ""
    failures: list[str] | None = None

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.consumer, self.consumer_version, self.provider, self.provider_version, self.pact_sha256)


def load(path: Path | None = None) -> list[Row]:
    p = matrix_path(path)
    if not p.exists():
        return []
    return [Row(**r) for r in json.loads(p.read_text("utf-8")).get("rows", [])]


def record(rows: list[Row], path: Path | None = None) -> Path:
    p = matrix_path(path)
    existing = {r.key: r for r in load(p)}
    for row in rows:
        existing[row.key] = row
    p.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(existing.values(), key=lambda r: (r.verified_at, r.consumer, r.provider))
    p.write_text(json.dumps({"rows": [asdict(r) for r in ordered]}, indent=2) + "\n", "utf-8")
    return p


def merge(sources: list[Path], path: Path | None = None) -> Path:
    """Fold the rows of other matrix files (earlier CI runs' artifacts / caches) into this one.

    Rows are keyed by versions and pact; the same key keeps the most recent verification. A
    missing source is skipped (a first run has nothing to restore).
    """
    rows: dict[tuple[str, str, str, str, str], Row] = {r.key: r for r in load(matrix_path(path))}
    for source in sources:
        for row in load(source) if source.exists() else []:
            if row.key not in rows or row.verified_at > rows[row.key].verified_at:
                rows[row.key] = row
    p = matrix_path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(rows.values(), key=lambda r: (r.verified_at, r.consumer, r.provider))
    p.write_text(json.dumps({"rows": [asdict(r) for r in ordered]}, indent=2) + "\n", "utf-8")
    return p


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class Integration:
    consumer: str
    provider: str


def integrations(pact_dir: Path = PACT_DIR) -> list[Integration]:
    found = {pactfile.parties(pactfile.load(p)) for p in pactfile.committed(pact_dir)}
    return [Integration(c, p) for c, p in sorted(found)]


@dataclass
class Answer:
    deployable: bool
    lines: list[tuple[str, str, str, str, str]]  # consumer, c.version, provider, p.version, result
    reasons: list[str]

    def render(self) -> str:
        head = ("CONSUMER", "C.VERSION", "PROVIDER", "P.VERSION", "SUCCESS?")
        rows = [head, *self.lines]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        out = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        out.insert(1, "-+-".join("-" * w for w in widths))
        verdict = "Computer says yes \\o/" if self.deployable else "Computer says no ¯\\_(ツ)_/¯"
        return "\n".join([*out, "", verdict, *self.reasons])


def can_i_deploy(
    pacticipant: str,
    version: str,
    pinned: dict[str, str] | None = None,
    rows: list[Row] | None = None,
    pact_dir: Path = PACT_DIR,
) -> Answer:
    rows = load() if rows is None else rows
    pinned = pinned or {}
    lines: list[tuple[str, str, str, str, str]] = []
    reasons: list[str] = []
    relevant = [i for i in integrations(pact_dir) if pacticipant in (i.consumer, i.provider)]
    if not relevant:
        return Answer(False, [], [f"{pacticipant!r} takes part in no committed pact"])
    ok = True
    for integ in relevant:
        as_consumer = integ.consumer == pacticipant
        other = integ.provider if as_consumer else integ.consumer
        candidates = [
            r
            for r in rows
            if r.consumer == integ.consumer
            and r.provider == integ.provider
            and (r.consumer_version if as_consumer else r.provider_version) == version
            and (
                other not in pinned
                or (r.provider_version if as_consumer else r.consumer_version) == pinned[other]
            )
        ]
        if not candidates:
            ok = False
            cv, pv = (version, pinned.get(other, "?")) if as_consumer else (pinned.get(other, "?"), version)
            lines.append((integ.consumer, cv, integ.provider, pv, "???"))
            reasons.append(
                f"no verification of {integ.consumer} → {integ.provider} with {pacticipant} {version}"
            )
            continue
        latest = max(candidates, key=lambda r: r.verified_at)
        lines.append(
            (
                latest.consumer,
                latest.consumer_version,
                latest.provider,
                latest.provider_version,
                "true" if latest.success else "false",
            )
        )
        if not latest.success:
            ok = False
            reasons.append(
                f"{latest.provider} {latest.provider_version} failed {latest.failed} of "
                f"{latest.interactions} interactions of {latest.consumer} {latest.consumer_version}'s pact"
            )
    return Answer(ok, lines, reasons)
