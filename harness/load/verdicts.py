"""The verdict of a distributed load run, read back from what its runners left behind.

Why: every k6-operator runner judges the budgets on its own samples (k6 has no cross-runner
thresholds) and its pod is deleted after the run (`cleanup: post`). k6/lib/summary.js therefore
leaves each runner's verdict twice — `<pod>.verdict.json` beside its summary on the summaries
volume, and one `K6_VERDICT {...}` line on stdout (for `kubectl logs` or a log store). This
module collects them and answers the only question that matters: did every one of the N
runners run its own 1/N of the test and hold every budget?

    python -m harness.load.verdicts --runners 4 summaries/           # a copy of the volume
    kubectl -n cos-pact-e2e logs -l k6_cr=cos-load,runner=true --tail=-1 | \\
        python -m harness.load.verdicts --runners 4 -

Exit code 0 when the run passed, 1 when it did not, 2 when the input holds no verdict.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERDICT_PREFIX = "K6_VERDICT "  # k6/lib/summary.js VERDICT_PREFIX
VERDICT_FILE = "verdict.json"
PASS = "PASS"


@dataclass(frozen=True)
class RunnerVerdict:
    """One k6 process's own judgement (the JSON k6/lib/summary.js `verdictOf` builds)."""

    doc: dict[str, Any]

    @property
    def verdict(self) -> str:
        return str(self.doc.get("verdict"))

    @property
    def segment(self) -> str:
        return str((self.doc.get("runner") or {}).get("segment") or "0:1")

    @property
    def runners(self) -> int:
        return int((self.doc.get("runner") or {}).get("runners") or 1)

    @property
    def breaches(self) -> list[str]:
        rows = self.doc.get("thresholds") or []
        return [
            f"{r['metric']} {r['expr']} (measured {r.get('measured')})" for r in rows if not r.get("ok", True)
        ]

    @property
    def problems(self) -> list[str]:
        return list((self.doc.get("runner") or {}).get("problems") or [])

    def describe(self) -> str:
        parts = [_kind_line(kind, k) for kind, k in (self.doc.get("kinds") or {}).items()]
        failed = self.breaches + self.problems
        tail = "" if not failed else " — " + "; ".join(failed)
        return f"segment {self.segment}: {self.verdict}; " + "; ".join(parts) + tail


def _kind_line(kind: str, k: dict[str, Any]) -> str:
    rate = f"{k.get('achieved_rate', 0):.1f}/s of {k.get('target_rate', 0):g}"
    p95 = f"p95 {k.get('p95_ms') or 0:.1f} ms"
    return f"{kind} {k.get('requests', 0)} req ({rate}), {p95}, dropped {k.get('dropped_iterations', 0)}"


@dataclass
class DistributedVerdict:
    """All runners' verdicts; passes only when N distinct segments each passed."""

    expected_runners: int
    runners: list[RunnerVerdict] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        out = []
        segments = [r.segment for r in self.runners]
        if len(self.runners) != self.expected_runners:
            out.append(f"{len(self.runners)} runner verdict(s) for {self.expected_runners} runners")
        if len(set(segments)) != len(segments):
            out.append(f"duplicate segments {sorted(segments)}: a runner's verdict was read twice")
        for r in self.runners:
            if r.runners != self.expected_runners:
                out.append(
                    f"segment {r.segment} was archived for RUNNERS={r.runners}, not {self.expected_runners}"
                )
        return out

    @property
    def passed(self) -> bool:
        return not self.problems and all(r.verdict == PASS for r in self.runners)

    def describe(self) -> str:
        lines = [
            f"{'PASS' if self.passed else 'FAIL'}: {len(self.runners)} of {self.expected_runners} runner(s)"
        ]
        lines += [f"  {r.describe()}" for r in sorted(self.runners, key=lambda r: r.segment)]
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)


def verdicts_in_text(text: str) -> list[RunnerVerdict]:
    """Every `K6_VERDICT {...}` line in a log (kubectl may prefix lines; the marker is searched)."""
    out = []
    for line in text.splitlines():
        at = line.find(VERDICT_PREFIX)
        if at >= 0:
            out.append(RunnerVerdict(json.loads(line[at + len(VERDICT_PREFIX) :])))
    return out


def verdicts_in_dir(root: Path) -> list[RunnerVerdict]:
    """Every `[<prefix>]verdict.json` below `root` (the TestRun names them `<pod>.verdict.json`)."""
    return [RunnerVerdict(json.loads(p.read_text())) for p in sorted(root.rglob(f"*{VERDICT_FILE}"))]


def collect(sources: Iterable[Path | str], expected_runners: int) -> DistributedVerdict:
    """Directories are searched for *verdict.json, files (or "-" for stdin) for verdict lines."""
    found: list[RunnerVerdict] = []
    for source in sources:
        if str(source) == "-":
            found += verdicts_in_text(sys.stdin.read())
        elif Path(source).is_dir():
            found += verdicts_in_dir(Path(source))
        else:
            found += verdicts_in_text(Path(source).read_text(errors="replace"))
    return DistributedVerdict(expected_runners, found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.load.verdicts", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--runners", type=int, required=True, help="the TestRun's parallelism")
    parser.add_argument("sources", nargs="+", help="summary directories, runner logs, or - for stdin")
    args = parser.parse_args(argv)
    result = collect(args.sources, args.runners)
    print(result.describe())
    if not result.runners:
        return 2
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
