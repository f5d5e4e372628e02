"""Microseconds of COS's own work per read request, in-process: no sockets, no h11, no k6.

    .venv/bin/python scripts/read_path_cost.py            # 7 rounds × 2000 requests per case

Why: on a shared 2-core machine the capacity benchmark (scripts/bench.py) and the CPU figure
of a profile move with whatever else runs; this drives the Starlette app directly with ASGI
messages on one event loop and reports the fastest round, which neighbours can only slow
down, never speed up. It measures what the read-path work of issue 16 changed (handler,
auth, Rego, encoding), not the HTTP server both COS and the bare endpoint share. Run it
from another checkout (`cd <tree> && python <this file>`) to compare two versions.

Cases follow k6/lib/cos.js `read()`: half `POST /v1/authorize` (30 distinct inputs, as
k6 sends them), a quarter `GET /v1/attestation`, a quarter conditional (304).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path.cwd()))  # the checkout to measure: the current directory

from companyos.app import create_app  # noqa: E402
from companyos.settings import Settings  # noqa: E402

Message = dict[str, Any]


async def call(app: Any, scope: Message, body: bytes = b"") -> list[Message]:
    """One request through the ASGI app; returns what it sent."""
    sent: list[Message] = []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def http(method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> Message:
    if body:
        headers = [*headers, (b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def measure(rounds: int, n: int) -> dict[str, list[float]]:
    root = Path(tempfile.mkdtemp(prefix="cos-read-cost-"))
    app = create_app(Settings(port=1, data_dir=root / "cos"))
    lifespan: asyncio.Queue[Message] = asyncio.Queue()
    started = asyncio.Event()

    async def lifespan_send(message: Message) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    task = asyncio.create_task(app(scope, lifespan.get, lifespan_send))
    await lifespan.put({"type": "lifespan.startup"})
    await asyncio.wait_for(started.wait(), 30)
    try:
        creds = json.dumps({"username": "qa", "password": "qa-dev-password"}).encode()
        answer = await call(app, http("POST", "/v1/login", [], creds), creds)
        token = json.loads(answer[1]["body"])["access_token"].encode()
        etag = dict((await call(app, http("GET", "/v1/attestation", [])))[0]["headers"])[b"etag"]
        inputs = [
            json.dumps(
                {"subject": {"user": "qa", "roles": [role]}, "action": action, "resource": f"release/{i}"}
            ).encode()
            for i in range(10)
            for role, action in zip(
                ("developer", "viewer", "release-manager"), ("read", "submit-evidence", "deploy"), strict=True
            )
        ]
        auth = [(b"authorization", b"Bearer " + token)]
        conditional = [(b"if-none-match", etag)]

        def authorize(i: int) -> Awaitable[list[Message]]:
            body = inputs[i % len(inputs)]
            return call(app, http("POST", "/v1/authorize", auth, body), body)

        cases: dict[str, Callable[[int], Awaitable[list[Message]]]] = {
            "authorize": authorize,
            "attestation": lambda i: call(app, http("GET", "/v1/attestation", [])),
            "attestation 304": lambda i: call(app, http("GET", "/v1/attestation", conditional)),
        }
        results: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(rounds):
            for name, request in cases.items():
                t0 = time.perf_counter()
                for i in range(n):
                    sent = await request(i)
                results[name].append((time.perf_counter() - t0) / n * 1e6)
                status = sent[0]["status"]
                if status not in (200, 304):
                    raise SystemExit(f"{name}: HTTP {status}: {sent[-1].get('body', b'')[:200]!r}")
        return results
    finally:
        await lifespan.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(task, 30)
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=7, help="rounds per case; the fastest counts (default 7)")
    p.add_argument("-n", type=int, default=2000, help="requests per round (default 2000)")
    args = p.parse_args(argv)
    results = asyncio.run(measure(args.rounds, args.n))
    best = {name: min(v) for name, v in results.items()}
    for name, v in results.items():
        print(f"{name:16s} fastest round {min(v):6.1f} µs/request  median {sorted(v)[len(v) // 2]:6.1f}")
    mix = 0.5 * best["authorize"] + 0.25 * best["attestation"] + 0.25 * best["attestation 304"]
    print(f"{'read mix':16s} {mix:6.1f} µs/request (½ authorize, ¼ attestation, ¼ 304)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
