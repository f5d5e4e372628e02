"""Profile a standalone COS under k6 load with py-spy and summarise where its CPU goes.

    .venv/bin/python scripts/profile_cos.py --label before            # 80/20 mix, 300 req/s, 20 s
    .venv/bin/python scripts/profile_cos.py --label reads --read-ratio 1 --rate 400

Why a script: the read-path work of issue 16 is judged by its profile before and after, and
both must be taken the same way. It starts COS exactly as scripts/bench.py does (standalone,
temp data dir, `--log-level warning`), runs one constant-rate step of k6/load.js through
harness.load.runner.run_load, and meanwhile samples COS with `py-spy record --format raw
--function --nonblocking` (non-blocking: the profiler must not slow the process it measures).

Writes docs/profiles/cos-<label>.md: the offered and achieved rate, COS CPU per request, and
the top frames by own time (the function on top of the stack) and by cumulative time (the
function anywhere on the stack), as shares of the samples in which COS was busy (py-spy leaves
idle samples out). The raw collapsed stacks go to reports/profiles/ (not committed).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench import PASSWORD, USERNAME, start_services  # noqa: E402

from harness.load.runner import COS_SCRIPT, Budgets, LoadProfile, run_load  # noqa: E402

PY_SPY = Path(sys.executable).with_name("py-spy")


@dataclass
class Profile:
    """Collapsed stacks (root first) with their sample counts."""

    stacks: Counter[tuple[str, ...]]

    @property
    def samples(self) -> int:
        return sum(self.stacks.values())

    def own(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            if stack:
                out[stack[-1]] += n
        return out

    def cumulative(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            for frame in set(stack):  # a recursive frame counts once per sample
                out[frame] += n
        return out


def short_frame(frame: str) -> str:
    """`decide (/repo/companyos/policy_engine.py:85)` → `decide (companyos/policy_engine.py:85)`."""
    name, sep, where = frame.partition(" (")
    if not sep:
        return frame
    for marker in ("site-packages/", f"{REPO}/", "/lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
            if marker == "/lib/python3":
                where = "stdlib" + where[where.find("/") :]
            break
    return f"{name} ({where}"


def parse_raw(text: str) -> Profile:
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in text.splitlines():
        body, _, count = line.rpartition(" ")
        if not body or not count.isdigit():
            continue
        frames = tuple(short_frame(f) for f in body.split(";") if f and not f.startswith("process "))
        stacks[frames] += int(count)
    return Profile(stacks)


def own_code(counts: Counter[str]) -> Counter[str]:
    """Frames of the service's own modules, without the entry points every sample passes through."""
    return Counter(
        {
            f: n
            for f, n in counts.items()
            if ("(companyos/" in f or "(seam/" in f) and "__main__" not in f and "server.py" not in f
        }
    )


def table(counts: Counter[str], total: int, top: int) -> list[str]:
    rows = ["| % of busy samples | samples | frame |", "| ---: | ---: | --- |"]
    for frame, n in counts.most_common(top):
        rows.append(f"| {100 * n / total:.1f} | {n} | `{frame}` |")
    return rows


def render(label: str, args: argparse.Namespace, prof: Profile, result: object, cpu: float | None) -> str:
    total = max(1, prof.samples)
    reads, writes = result.reads, result.writes  # type: ignore[attr-defined]
    achieved = result.achieved_rate  # type: ignore[attr-defined]
    cpu_ms = f"{10 * cpu / achieved:.2f}" if cpu and achieved else "–"
    lat = " / ".join(
        f"{kind} p50 {s.p50_ms or 0:.1f} p95 {s.p95_ms or 0:.1f} ms ({s.requests} req)"
        for kind, s in (("reads", reads), ("writes", writes))
        if s.requests
    )
    return "\n".join(
        [
            f"# COS profile: {label}",
            "",
            f"Taken with `scripts/profile_cos.py --label {label} --rate {args.rate:g} "
            f"--read-ratio {args.read_ratio:g} --duration-s {args.duration_s:g}` "
            "(py-spy record --format raw --function --nonblocking, "
            f"{args.sample_hz} Hz, standalone COS, k6/load.js constant arrival rate).",
            "",
            f"- offered {args.rate:g} req/s ({args.read_ratio * 100:.0f} % reads), "
            f"achieved {achieved:.0f} req/s; "
            f"{lat}; errors {result.error_rate * 100:.2f} %",  # type: ignore[attr-defined]
            f"- COS CPU {cpu or 0:.0f} % of a core → **{cpu_ms} CPU-ms per request**",
            f"- {prof.samples} busy samples (idle samples are not recorded)",
            "",
            "## Top frames by own time",
            "",
            *table(prof.own(), total, args.top),
            "",
            "## Top frames by cumulative time",
            "",
            *table(prof.cumulative(), total, args.top),
            "",
            "## COS's own code (companyos/, seam/) by cumulative time",
            "",
            *table(own_code(prof.cumulative()), total, args.top),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--label", required=True, help="names the output: docs/profiles/cos-<label>.md")
    p.add_argument("--rate", type=float, default=300.0, help="offered req/s (default 300)")
    p.add_argument("--read-ratio", type=float, default=0.8, help="share of reads (default 0.8)")
    p.add_argument("--duration-s", type=float, default=20.0, help="measured seconds (default 20)")
    p.add_argument("--warmup-s", type=float, default=3.0, help="warm-up seconds, not profiled (default 3)")
    p.add_argument("--sample-hz", type=int, default=200, help="py-spy sampling rate (default 200)")
    p.add_argument("--top", type=int, default=25, help="rows per table (default 25)")
    p.add_argument("--out-dir", type=Path, default=REPO / "docs" / "profiles")
    args = p.parse_args(argv)
    if not PY_SPY.exists():
        p.error(f"{PY_SPY} is missing: pip install -r requirements.txt")

    raw_dir = REPO / "reports" / "profiles" / args.label
    raw_dir.mkdir(parents=True, exist_ok=True)
    raw = raw_dir / "cos.raw.txt"
    root = Path(tempfile.mkdtemp(prefix="cos-profile-"))
    services, procs = start_services(root, {"cos"})
    url, pid = services["cos"]
    try:
        # py-spy starts with the measured window (after k6's warm-up) and stops before its end.
        spy = subprocess.Popen(
            [
                "bash",
                "-c",
                'sleep "$1"; exec "$2" record --format raw --function --nonblocking --rate "$3" '
                '--duration "$4" --pid "$5" -o "$6"',
                "spy",
                f"{args.warmup_s + 1:g}",
                str(PY_SPY),
                str(args.sample_hz),
                f"{max(1, int(args.duration_s) - 2)}",
                str(pid),
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(raw_dir / "py-spy.log", "wb"),  # noqa: SIM115 - closed with the process
        )
        profile = LoadProfile(
            rate=args.rate, duration_s=args.duration_s, read_ratio=args.read_ratio, warmup_s=args.warmup_s
        )
        budgets = Budgets(read_p95_ms=None, write_p95_ms=None, max_error_rate=1.0, max_dropped_ratio=1.0)
        result = run_load(
            url,
            USERNAME,
            PASSWORD,
            profile,
            budgets,
            raw_dir / "k6",
            {"cos": pid},
            script=COS_SCRIPT,
            extra_env={"TITLE": f"profile {args.label}"},
        )
        spy.wait(timeout=args.duration_s + 30)
    finally:
        for proc in procs:
            proc.stop()
        shutil.rmtree(root, ignore_errors=True)
    if spy.returncode != 0 or not raw.exists():
        print(f"py-spy failed: see {raw_dir / 'py-spy.log'}", file=sys.stderr)
        return 1
    svc = result.resources.get("cos")
    text = render(args.label, args, parse_raw(raw.read_text()), result, svc.cpu_mean_pct if svc else None)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"cos-{args.label}.md"
    out.write_text(text)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
