"""Drift gate: the committed pacts must be exactly what the consumer tests generate now.

The consumer tests regenerate every pact into a temp dir; each is compared, in normal form
(`contracts.pactfile`), with the committed file. A difference — a consumer test changed its
expectations without the pact being reviewed, or a pact was edited by hand — fails with a
unified diff and the way to accept it (`python -m contracts accept`, then review and commit).
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from contracts import PACT_DIR, consumers, pactfile

ACCEPT_HINT = (
    "If the change is intended, accept it with `.venv/bin/python -m contracts accept` "
    "(regenerates contracts/pacts/), review `git diff contracts/pacts`, and commit the pacts "
    "with the consumer change (docs/contracts.md, 'Changing a contract')."
)


@dataclass
class DriftResult:
    ok: bool
    diffs: dict[str, str]  # file name → unified diff ('' when identical)

    def report(self) -> str:
        if self.ok:
            return f"no drift: {len(self.diffs)} committed pacts match what the consumer tests generate"
        parts = [d for d in self.diffs.values() if d]
        return "\n".join(["pact drift detected:", *parts, ACCEPT_HINT])


def compare(committed_dir: Path, generated_dir: Path) -> DriftResult:
    names = sorted(
        {p.name for p in pactfile.committed(committed_dir)}
        | {p.name for p in pactfile.committed(generated_dir)}
    )
    diffs: dict[str, str] = {}
    for name in names:
        old_path, new_path = committed_dir / name, generated_dir / name
        old = pactfile.dumps(pactfile.load(old_path)).splitlines(True) if old_path.exists() else []
        new = pactfile.dumps(pactfile.load(new_path)).splitlines(True) if new_path.exists() else []
        diffs[name] = "".join(
            difflib.unified_diff(
                old,
                new,
                fromfile=f"committed/{name}" if old_path.exists() else "/dev/null",
                tofile=f"generated/{name}" if new_path.exists() else "/dev/null",
            )
        )
    return DriftResult(ok=not any(diffs.values()), diffs=diffs)


def check(pact_dir: Path = PACT_DIR) -> DriftResult:
    with tempfile.TemporaryDirectory(prefix="contracts-generated-") as tmp:
        consumers.generate(Path(tmp))
        return compare(pact_dir, Path(tmp))


def accept(pact_dir: Path = PACT_DIR) -> list[Path]:
    """Regenerate the pacts into `pact_dir` (the documented contract-update step)."""
    with tempfile.TemporaryDirectory(prefix="contracts-generated-") as tmp:
        generated = consumers.generate(Path(tmp))
        pact_dir.mkdir(parents=True, exist_ok=True)
        for stale in set(pactfile.committed(pact_dir)) - {pact_dir / p.name for p in generated}:
            stale.unlink()
        written = []
        for path in generated:
            target = pact_dir / path.name
            shutil.copyfile(path, target)
            written.append(target)
        return written
