"""`python -m conductor.tools.alias_bomb`: the issue-13 GraphQL alias bomb against a real MC.

Starts MC (`python -m conductor`, loopback, a temporary data dir), samples
`/healthz` while idle, then lets N sender *processes* post a ~60 KB query of
aliased `__schema` selections in a loop for D seconds while `/healthz` keeps
being sampled every 50 ms. Prints the status of the bomb, how long one bomb
takes alone, and `/healthz` p50/p95 idle and under attack. Senders are
processes so the sampler does not share a GIL with them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
CREDENTIALS = {
    "grant_type": "client_credentials",
    "client_id": "companyos",
    "client_secret": "companyos-dev-secret",
}


def alias_bomb(size: int = 60_000) -> str:
    """Aliased introspection selections until the query text is `size` characters."""
    parts, total, i = [], 2, 0
    while True:
        part = f"a{i}: __schema {{ types {{ name fields {{ name }} }} }} "
        if total + len(part) > size:
            break
        parts.append(part)
        total += len(part)
        i += 1
    return "{" + "".join(parts) + "}"


def _send(url: str, token: str, query: str, stop_at: float) -> None:
    with httpx.Client(timeout=60) as client:
        while time.time() < stop_at:  # bounded by the deadline
            client.post(f"{url}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})


def _sample(client: httpx.Client, url: str, until: float, pause_s: float = 0.05) -> list[float]:
    samples = []
    while time.time() < until:
        started = time.perf_counter()
        client.get(f"{url}/healthz")
        samples.append((time.perf_counter() - started) * 1000)
        time.sleep(pause_s)
    return samples


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"/healthz {name}: p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms (n={len(ordered)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conductor.tools.alias_bomb", description=__doc__)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--size", type=int, default=60_000, help="query text length in characters")
    args = parser.parse_args(argv)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MC_", "SEAM_"))}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "conductor",
                "--port",
                str(port),
                "--admin-port",
                "0",
                "--data-dir",
                data_dir,
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(timeout=60) as client:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:  # bounded readiness wait
                    try:
                        if client.get(f"{url}/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.05)
                token = client.post(f"{url}/v1/tokens", data=CREDENTIALS).json()["access_token"]
                query = alias_bomb(args.size)
                started = time.perf_counter()
                alone = client.post(
                    f"{url}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
                )
                print(f"bomb: {len(query)} chars, {query.count('__schema')} aliased __schema selections")
                alone_ms = (time.perf_counter() - started) * 1000
                print(f"one bomb alone: HTTP {alone.status_code} in {alone_ms:.0f} ms")
                idle = _sample(client, url, time.time() + 2)
                stop_at = time.time() + args.seconds
                senders = [
                    multiprocessing.Process(target=_send, args=(url, token, query, stop_at))
                    for _ in range(args.senders)
                ]
                for sender in senders:
                    sender.start()
                time.sleep(1)
                busy = _sample(client, url, stop_at - 0.5)
                for sender in senders:
                    sender.join(timeout=args.seconds + 60)
            print(_summary("idle", idle))
            print(_summary(f"during the bomb from {args.senders} senders", busy))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
