"""Measure the seam's two latencies against real MC and COS subprocesses.

1. publish → enforce: from MC's admin API answering 201 for a new pack
   revision until COS's /v1/attestation (and so its decisions) reports that
   digest. Dominated by the poll interval (default 1.0 s, jittered ±20 %).
   Each publish is made at a random phase of the poll cycle.
2. accept → stored: from COS answering 202 for an evidence until MC's ledger
   holds it (observed by polling MC's admin API every 2 ms, and also from
   MC's own `received_at` timestamp); plus until COS shows it acknowledged.

    .venv/bin/python -m companyos.tools.measure_seam --tries 50
    .venv/bin/python -m companyos.tools.measure_seam --tries 50 --poll-interval 30   # slow: prod default

Prints p50/p95/max per measurement (and JSON with --json). Loopback only;
everything runs in a temp dir that is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": "Bearer mc-admin-dev"}
PACK = "policy-pack-v0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float, interval_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = probe()
        except httpx.TransportError:
            value = None
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"timed out waiting for {what}")


def start(module: str, port: int, args: list[str], log: Path) -> subprocess.Popen:
    fh = log.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), *args],
        cwd=REPO,
        stdout=fh,
        stderr=subprocess.STDOUT,
    )
    fh.close()
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{module} ready", lambda: httpx.get(f"{url}/readyz", timeout=1).status_code == 200, 30, 0.05)
    return proc


def summary(name: str, samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {
        "measurement": name,
        "n": len(samples),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


def pack_files(frozen: list[str]) -> dict[str, str]:
    files = {p.name: p.read_text() for p in (REPO / "policy" / PACK).iterdir()}
    data = json.loads(files["data.json"])
    data["frozen_actions"] = frozen
    files["data.json"] = json.dumps(data)
    return files


def measure_reload(admin_url: str, cos_url: str, tries: int, poll_interval: float) -> list[float]:
    """Each publish happens at a random phase of COS's poll cycle (publishing right after the last
    reload was seen would always wait one full interval and overstate the typical delay)."""
    samples = []
    rng = random.Random(7)
    with httpx.Client(timeout=10) as http:
        for i in range(tries):
            time.sleep(rng.uniform(0, poll_interval))
            files = pack_files(["deploy"] if i % 2 else ["read"])
            r = http.post(
                f"{admin_url}/admin/packs/{PACK}/revisions",
                headers=ADMIN,
                json={"revision": f"m{i}-{uuid.uuid4().hex[:6]}", "files": files},
            )
            published = time.perf_counter()
            r.raise_for_status()
            wanted = r.json()["digest"]
            wait_for(
                "COS to enforce the new pack",
                lambda wanted=wanted: http.get(f"{cos_url}/v1/attestation").json()["digest"] == wanted,
                30,
                0.005,
            )
            samples.append(time.perf_counter() - published)
    return samples


def measure_evidence(
    admin_url: str, cos_url: str, tries: int
) -> tuple[list[float], list[float], list[float]]:
    observed, stamped, acked = [], [], []
    with httpx.Client(timeout=10) as http:
        login = http.post(f"{cos_url}/v1/login", json={"username": "qa", "password": "qa-dev-password"})
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for _ in range(tries):
            key = f"measure-{uuid.uuid4()}"
            doc = {
                "release": "2026.11.3",
                "kind": "test-report",
                "subject": {"name": "api", "digest": {"sha256": uuid.uuid4().hex * 2}},
                "produced_at": "2026-11-26T06:00:00Z",
            }
            r = http.post(f"{cos_url}/v1/evidence", json=doc, headers={**auth, "Idempotency-Key": key})
            accepted_perf, accepted_wall = time.perf_counter(), time.time()
            assert r.status_code == 202, r.text

            def stored(key: str = key) -> dict | None:
                query = {"keys": [key]}  # MC's ledger by key: the listing is paged (1000 a page)
                items = http.post(f"{admin_url}/admin/evidence/query", headers=ADMIN, json=query).json()[
                    "items"
                ]
                return next(iter(items), None)

            record = wait_for("MC to store the evidence", stored, 30, 0.002)
            observed.append(time.perf_counter() - accepted_perf)
            received = datetime.fromisoformat(record["received_at"].replace("Z", "+00:00")).timestamp()
            stamped.append(max(0.0, received - accepted_wall))
            wait_for(
                "COS to see the receipt",
                lambda key=key: (
                    http.get(f"{cos_url}/v1/evidence/{key}", headers=auth).json()["state"] == "acknowledged"
                ),
                30,
                0.002,
            )
            acked.append(time.perf_counter() - accepted_perf)
    return observed, stamped, acked


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m companyos.tools.measure_seam", description=__doc__.split("\n")[0]
    )
    p.add_argument("--tries", type=int, default=50)
    p.add_argument("--poll-interval", type=float, default=1.0, help="COS --poll-interval (default 1.0)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="measure-seam-") as tmp:
        root = Path(tmp)
        mc_port, admin_port, cos_port = free_port(), free_port(), free_port()
        mc_url, cos_url = f"http://127.0.0.1:{mc_port}", f"http://127.0.0.1:{cos_port}"
        admin_url = f"http://127.0.0.1:{admin_port}"  # MC's admin API has its own listener
        procs: list[subprocess.Popen] = []
        try:
            procs.append(
                start(
                    "conductor",
                    mc_port,
                    [
                        "--admin-port",
                        str(admin_port),
                        "--data-dir",
                        str(root / "mc"),
                        "--callback-url",
                        f"{cos_url}/v1/callbacks/evidence-receipts",
                    ],
                    root / "mc.log",
                )
            )
            cos_args = ["--data-dir", str(root / "cos"), "--mode", "integrated", "--mc-url", mc_url]
            cos_args += ["--poll-interval", str(args.poll_interval), "--log-level", "warning"]
            procs.append(start("companyos", cos_port, cos_args, root / "cos.log"))
            wait_for(
                "COS to enforce MC's pack",
                lambda: httpx.get(f"{cos_url}/v1/attestation").json()["source"] == "mc",
                30,
                0.05,
            )
            reload = measure_reload(admin_url, cos_url, args.tries, args.poll_interval)
            observed, stamped, acked = measure_evidence(admin_url, cos_url, args.tries)
        finally:
            for proc in reversed(procs):
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=10)
    results = [
        summary(f"MC publish -> COS enforces (poll {args.poll_interval}s)", reload),
        summary("COS 202 -> MC stored (observed via MC admin API)", observed),
        summary("COS 202 -> MC stored (MC received_at timestamp)", stamped),
        summary("COS 202 -> COS acknowledged (MC receipt callback)", acked),
    ]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            print(
                f"{r['measurement']:<58} n={r['n']:<4} p50={r['p50_ms']:>8.1f} ms  "
                f"p95={r['p95_ms']:>8.1f} ms  max={r['max_ms']:>8.1f} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
