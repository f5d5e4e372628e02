"""Capacity benchmark: the highest rate COS holds, next to a bare Starlette endpoint.

    .venv/bin/python scripts/bench.py                     # full search, ≤ ~12 min
    .venv/bin/python scripts/bench.py --quick             # ~2-3 min: shorter steps, coarser search
    .venv/bin/python scripts/bench.py --targets reads,bare --step-s 4 --time-budget-s 120

Starts COS (standalone, temp data dir) and a bare Starlette app (one route returning
{"ok": true}, served by uvicorn with the same settings as COS) on free loopback ports,
then for each target — reads, writes, the 80/20 mix (standalone, and integrated with an MC),
the bare endpoint — searches
stepwise (doubling, then bisecting) for the highest constant arrival rate that holds
p95 ≤ --p95-ms with 0 % errors and no dropped iterations. Each step is one
harness.load.runner.run_load call (k6/load.js or k6/bare.js) with its own warm-up.

Writes docs/benchmarks.md (table, COS/bare ratios, machine, k6/python versions, date)
and the raw steps to reports/bench/bench.json. Not part of the tests: the numbers
depend on the machine (2 cores are shared by k6 and the service under test).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.kit.ports import LOOPBACK, free_port  # noqa: E402
from harness.kit.processes import ManagedProcess, python_module  # noqa: E402
from harness.kit.readiness import http_ready, wait_until  # noqa: E402
from harness.kit.service_pair import start_integrated_pair  # noqa: E402
from harness.load.runner import (  # noqa: E402
    BARE_SCRIPT,
    COS_SCRIPT,
    Budgets,
    LoadError,
    LoadProfile,
    LoadResult,
    k6_binary,
    run_load,
)

USERNAME, PASSWORD = "qa", "qa-dev-password"
NCPU = len(os.sched_getaffinity(0))
TARGETS = {  # name -> (read ratio, service)
    "reads": (1.0, "cos"),
    "writes": (0.0, "cos"),
    "mix": (0.8, "cos"),
    "mix-integrated": (0.8, "cos-integrated"),
    "bare": (1.0, "bare"),
}
TARGET_TITLES = {
    "reads": "COS reads (authorize + attestation)",
    "writes": "COS writes (evidence)",
    "mix": "COS 80 % reads / 20 % writes",
    "mix-integrated": "COS 80/20 integrated (publishing to MC, receipts back)",
    "bare": "bare Starlette endpoint",
}

# uvicorn settings of COS (companyos/server.py:uvicorn_config), reused for the bare endpoint:
# one worker, access log off, no log config, lifespan on; default asyncio loop and h11
# (uvloop/httptools are not installed). COS is started with --log-level warning to match.
UVICORN_SETTINGS = {
    "workers": 1,
    "access_log": False,
    "log_config": None,
    "log_level": "warning",
    "lifespan": "on",
    "timeout_graceful_shutdown": 5,
}


# --- the bare endpoint ----------------------------------------------------------------


def serve_bare(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def ok(request: object) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/", ok)])
    uvicorn.Server(uvicorn.Config(app, host=LOOPBACK, port=port, **UVICORN_SETTINGS)).run()


# --- the search -----------------------------------------------------------------------


@dataclass
class Step:
    rate: float
    held: bool
    why: str
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    achieved_rate: float
    error_rate: float
    dropped: int
    cpu_service_mean: float | None
    cpu_service_max: float | None
    cpu_k6_mean: float | None
    cpu_system_mean: float | None  # whole machine, 0-100 % of all cores
    cpu_other_mean: float | None  # core-% used by neither the service nor k6 (neighbours)
    report: str
    attempts: int = 1


@dataclass
class Outcome:
    target: str
    best: Step | None = None
    first_failure: Step | None = None
    steps: list[Step] = field(default_factory=list)
    stopped_by_time: bool = False


def _step_from(result: LoadResult, rate: float, service_label: str) -> Step:
    kinds = [s for s in (result.reads, result.writes) if s.requests]
    worst = max(kinds, key=lambda s: s.p95_ms or 0) if kinds else result.reads
    svc = result.resources.get(service_label)
    k6 = result.resources.get("k6")
    system = result.resources.get("system")
    mc = result.resources.get("mc")  # the integrated row's MC is part of the system under test
    other = None
    if system and svc and k6:
        other = system.cpu_mean_pct * NCPU - svc.cpu_mean_pct - k6.cpu_mean_pct
        other = max(0.0, other - (mc.cpu_mean_pct if mc else 0.0))
    why = "ok" if result.passed else "; ".join(b.describe() for b in result.breaches)
    return Step(
        rate=rate,
        held=result.passed,
        why=why,
        p50_ms=worst.p50_ms,
        p95_ms=worst.p95_ms,
        p99_ms=worst.p99_ms,
        achieved_rate=result.achieved_rate,
        error_rate=result.error_rate,
        dropped=result.dropped_iterations,
        cpu_service_mean=svc.cpu_mean_pct if svc else None,
        cpu_service_max=svc.cpu_max_pct if svc else None,
        cpu_k6_mean=k6.cpu_mean_pct if k6 else None,
        cpu_system_mean=system.cpu_mean_pct if system else None,
        cpu_other_mean=other,
        report=str(result.summary_md),
    )


def search(
    target: str, args: argparse.Namespace, services: dict[str, tuple[str, int]], deadline: float
) -> Outcome:
    ratio, service = TARGETS[target]
    url, pid = services[service]
    pids = {service: pid, **({"mc": services["mc"][1]} if service == "cos-integrated" else {})}
    budgets = Budgets(
        read_p95_ms=args.p95_ms if ratio > 0 else None,
        write_p95_ms=args.p95_ms if ratio < 1 else None,
        max_error_rate=0.0,
        max_dropped_ratio=0.0,
    )
    step_cost = args.step_s + args.warmup_s + 3
    outcome = Outcome(target)
    low: float | None = None  # highest rate held
    high: float | None = None  # lowest rate that failed
    rate = float(args.start_rate)
    bisections = 0

    def measure(rate: float, attempt: int) -> Step:
        profile = LoadProfile(rate=rate, duration_s=args.step_s, read_ratio=ratio, warmup_s=args.warmup_s)
        out_dir = REPO / "reports" / "bench" / target / f"{rate:g}" / str(attempt)
        extra = {"BARE_URL": f"{url}/", "TITLE": f"bench {target} @ {rate:g} req/s"}
        try:
            result = run_load(
                url,
                USERNAME,
                PASSWORD,
                profile,
                budgets,
                out_dir,
                pids,
                script=BARE_SCRIPT if service == "bare" else COS_SCRIPT,
                extra_env=extra,
            )
            step = _step_from(result, rate, service)
        except LoadError as exc:
            why = f"k6 error: {str(exc)[:200]}"
            step = Step(rate, False, why, None, None, None, 0, 1, 0, None, None, None, None, None, "")
        step.attempts = attempt
        p95 = "–" if step.p95_ms is None else f"{step.p95_ms:.1f}"
        cpu = "–" if step.cpu_service_mean is None else f"{step.cpu_service_mean:.0f}"
        other = "–" if step.cpu_other_mean is None else f"{step.cpu_other_mean:.0f}"
        print(
            f"[{target}] {rate:7.0f} req/s #{attempt} -> {'held' if step.held else 'FAILED'}  p95 {p95} ms, "
            f"achieved {step.achieved_rate:.0f}/s, {service} CPU {cpu} %, others {other} %  "
            f"{'' if step.held else step.why}",
            file=sys.stderr,
            flush=True,
        )
        return step

    while True:
        if time.monotonic() + step_cost > deadline:
            outcome.stopped_by_time = True
            break
        step = measure(rate, 1)
        # A failure is confirmed by re-running the step (neighbours on a shared box cause
        # one-off stalls); the rate counts as held if any attempt held.
        for attempt in range(2, args.confirm + 2):
            if step.held or time.monotonic() + step_cost > deadline:
                break
            step = measure(rate, attempt)
        outcome.steps.append(step)
        if step.held:
            low, outcome.best = rate, step
        else:
            if high is None or rate < high:
                high, outcome.first_failure = rate, step
        if high is None:
            if rate * 2 > args.max_rate:
                break
            rate *= 2
            continue
        if low is None:
            if rate / 2 < args.min_rate:
                break
            rate /= 2
            continue
        if bisections >= args.refine or (high - low) / low <= 0.1:
            break
        rate = round((low + high) / 2)
        bisections += 1
    return outcome


# --- the report -----------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    k6_version = subprocess.run([str(k6_binary()), "version"], capture_output=True, text=True).stdout.strip()
    mem_gb = ""
    try:
        import psutil

        mem_gb = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except Exception:  # noqa: BLE001 - informational only
        pass
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu_model or platform.processor(),
        "memory": mem_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "k6": k6_version,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _fmt(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


_INTRO = """\
# Benchmarks

Generated by `scripts/bench.py` — do not edit by hand; re-run it instead
(`.venv/bin/python scripts/bench.py`, ≤ ~12 min; `--quick` for a coarser ~4 min search).

Highest constant arrival rate each target **holds**: p95 ≤ {p95:g} ms, 0 % failed requests and
checks, no dropped iterations, measured over {step:g} s after a {warmup:g} s warm-up (k6
`constant-arrival-rate`). Search: start at {start:g} req/s, double until a step fails (cap
{cap:g}), then bisect up to {refine} times (stop within 10 %); a failed step is re-run
{confirm} time(s) and counts as held if any attempt held. COS runs standalone (local pack,
SQLite outbox), except in the *integrated* row: there it enforces MC's pack, publishes every
accepted evidence to a reference MC and takes MC's receipts back (MC's CPU is not in *others*;
it is part of the system under test). The bare endpoint is one Starlette route returning
`{{"ok": true}}` under the same uvicorn settings.
"""

_NOTES = """\
Latencies are those of the slower kind at the highest held rate. CPU % is psutil's
per-process figure (100 % = one core) averaged over the step; k6 shares the same cores, so
the service never has the whole machine; *others* is the CPU (core-%) used meanwhile by
neither (machine total × nproc − service − k6): anything well above zero means neighbours
(e.g. a parallel test run) competed and the row understates the service. *÷ bare* is the
COS rate divided by the bare endpoint's: the share of raw Python/uvicorn request throughput
left after COS's work (auth, Rego, SQLite).
"""

_HEADER = [
    "target",
    "highest rate held (req/s)",
    "÷ bare",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "service CPU %",
    "k6 CPU %",
    "others CPU %",
    "lowest failing rate",
]


def _tries(step: Step) -> str:
    return f" ({step.attempts} runs)" if step.attempts > 1 else ""


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render(outcomes: dict[str, Outcome], args: argparse.Namespace, info: dict[str, str]) -> str:
    bare = outcomes.get("bare")
    bare_rate = bare.best.rate if bare and bare.best else None
    rows = []
    for name, o in outcomes.items():
        b = o.best
        ratio = f"{b.rate / bare_rate:.2f}" if name != "bare" and b and bare_rate else "–"
        fail = o.first_failure
        limit = (
            f"{fail.rate:.0f}" if fail else ("time budget" if o.stopped_by_time else f"> {args.max_rate:g}")
        )
        if b is None:
            cells = ["–"] * 8
        else:
            cells = [
                f"{b.rate:.0f}",
                ratio,
                _fmt(b.p50_ms),
                _fmt(b.p95_ms),
                _fmt(b.p99_ms),
                _fmt(b.cpu_service_mean, 0),
                _fmt(b.cpu_k6_mean, 0),
                _fmt(b.cpu_other_mean, 0),
            ]
        rows.append(_row([TARGET_TITLES[name], *cells, limit]))
    failures = [
        f"- **{name}** at {o.first_failure.rate:.0f} req/s: {o.first_failure.why}"
        for name, o in outcomes.items()
        if o.first_failure
    ]
    steps = [
        f"- {name}: " + ", ".join(f"{s.rate:.0f} {'✓' if s.held else '✗'}{_tries(s)}" for s in o.steps)
        for name, o in outcomes.items()
    ]
    intro = _INTRO.format(
        p95=args.p95_ms,
        step=args.step_s,
        warmup=args.warmup_s,
        start=args.start_rate,
        cap=args.max_rate,
        refine=args.refine,
        confirm=args.confirm,
    )
    busy = [
        n
        for n, o in outcomes.items()
        if any((st.cpu_other_mean or 0) > 25 for st in (o.best, o.first_failure) if st is not None)
    ]
    caveat = (
        [
            f"> **Caveat:** other work on the machine used > 25 core-% of CPU during the deciding steps "
            f"(highest held or lowest failing) of: {', '.join(busy)}. Those limits understate what "
            "the service holds on a quiet machine; see *Steps* and `reports/bench/bench.json`.",
            "",
        ]
        if busy
        else []
    )
    return "\n".join(
        [
            intro,
            *caveat,
            _row(_HEADER),
            _row(["---"] + ["---:"] * (len(_HEADER) - 1)),
            *rows,
            "",
            _NOTES,
            "## Why the lowest failing step failed",
            "",
            *(failures or ["- no step failed within the search range"]),
            "",
            "## Steps (req/s, ✓ held / ✗ failed, in search order)",
            "",
            *steps,
            "",
            "## Machine",
            "",
            "| | |",
            "| --- | --- |",
            *[f"| {k} | {v} |" for k, v in info.items()],
            "",
            "Raw steps: `reports/bench/bench.json`; per-step k6 reports: `reports/bench/<target>/<rate>/`.",
            "",
        ]
    )


# --- main -----------------------------------------------------------------------------


def start_services(root: Path, need: set[str]) -> tuple[dict[str, tuple[str, int]], list[ManagedProcess]]:
    services: dict[str, tuple[str, int]] = {}
    procs: list[ManagedProcess] = []
    logs = REPO / "reports" / "bench" / "logs"
    if "cos" in need:
        port = free_port()
        argv = python_module(
            "companyos",
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--data-dir",
            str(root / "cos"),
            "--log-level",
            "warning",
        )
        cos = ManagedProcess("companyos", argv, logs / "companyos.log").start()
        procs.append(cos)
        url = f"http://{LOOPBACK}:{port}"
        wait_until("COS", http_ready(f"{url}/readyz"), 30, alive=cos.alive)
        services["cos"] = (url, cos.pid or 0)
    if "cos-integrated" in need:  # MC, and a COS publishing to it (receipts back to that COS)
        pair = start_integrated_pair(root / "integrated", logs / "integrated")
        procs += [pair.cos, pair.mc]
        services["cos-integrated"] = (pair.cos_url, pair.cos.pid or 0)
        services["mc"] = (pair.mc_url, pair.mc.pid or 0)
    if "bare" in need:
        port = free_port()
        bare = ManagedProcess(
            "bare", [sys.executable, __file__, "serve-bare", str(port)], logs / "bare.log"
        ).start()
        procs.append(bare)
        url = f"http://{LOOPBACK}:{port}"
        wait_until("bare endpoint", http_ready(f"{url}/"), 30, alive=bare.alive)
        services["bare"] = (url, bare.pid or 0)
    return services, procs


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve-bare"]:
        serve_bare(int(argv[1]))
        return 0
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument(
        "--targets",
        default="reads,writes,mix,mix-integrated,bare",
        help="comma list of: " + ", ".join(TARGETS),
    )
    p.add_argument("--p95-ms", type=float, default=50.0, help="latency budget per step (default 50)")
    p.add_argument("--step-s", type=float, default=6.0, help="measured seconds per step (default 6)")
    p.add_argument("--warmup-s", type=float, default=2.0, help="warm-up seconds per step (default 2)")
    p.add_argument("--start-rate", type=float, default=100.0, help="first rate tried (default 100)")
    p.add_argument("--min-rate", type=float, default=10.0, help="give up halving below this (default 10)")
    p.add_argument("--max-rate", type=float, default=6400.0, help="stop doubling above this (default 6400)")
    p.add_argument(
        "--refine", type=int, default=3, help="bisection steps after the first failure (default 3)"
    )
    p.add_argument(
        "--confirm", type=int, default=1, help="re-runs of a failed step before it counts (default 1)"
    )
    p.add_argument("--time-budget-s", type=float, default=700.0, help="total search time (default 700)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="step 4 s, warm-up 1 s, 2 bisections, no confirmation, budget 200 s",
    )
    p.add_argument(
        "--out", type=Path, default=REPO / "docs" / "benchmarks.md", help="report (docs/benchmarks.md)"
    )
    p.add_argument(
        "--render-only",
        action="store_true",
        help="re-write --out from reports/bench/bench.json without measuring",
    )
    args = p.parse_args(argv)
    raw = REPO / "reports" / "bench" / "bench.json"
    if args.render_only:
        return rerender(raw, args.out)
    if args.quick:
        args.step_s, args.warmup_s, args.refine, args.confirm = 4.0, 1.0, 2, 0
        args.time_budget_s = min(args.time_budget_s, 200.0)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        p.error(f"unknown target(s): {', '.join(unknown)}")

    info = machine_info()
    root = Path(tempfile.mkdtemp(prefix="cos-bench-"))
    services, procs = start_services(root, {TARGETS[t][1] for t in targets})
    started = time.monotonic()
    outcomes: dict[str, Outcome] = {}
    try:
        for i, target in enumerate(targets):
            remaining = args.time_budget_s - (time.monotonic() - started)
            share = remaining / (len(targets) - i)
            outcomes[target] = search(target, args, services, time.monotonic() + share)
    finally:
        for proc in procs:
            proc.stop()
        shutil.rmtree(root, ignore_errors=True)
    raw.parent.mkdir(parents=True, exist_ok=True)
    doc = {"args": vars(args), "machine": info, "outcomes": {k: asdict(v) for k, v in outcomes.items()}}
    raw.write_text(json.dumps(doc, indent=1, default=str))
    args.out.write_text(render(outcomes, args, info))
    print(f"wrote {args.out} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return 0


def rerender(raw: Path, out: Path) -> int:
    """Render the report again from the raw steps (e.g. after changing the template)."""
    doc = json.loads(raw.read_text())
    args = argparse.Namespace(**{k: _number_or_str(v) for k, v in doc["args"].items()})
    outcomes = {}
    for name, o in doc["outcomes"].items():
        steps = [Step(**s) for s in o["steps"]]
        best = Step(**o["best"]) if o["best"] else None
        first = Step(**o["first_failure"]) if o["first_failure"] else None
        outcomes[name] = Outcome(name, best, first, steps, o["stopped_by_time"])
    out.write_text(render(outcomes, args, doc["machine"]))
    print(f"wrote {out} from {raw}", file=sys.stderr)
    return 0


def _number_or_str(v: object) -> object:
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return v
        return int(f) if f.is_integer() else f
    return v


if __name__ == "__main__":
    sys.exit(main())
