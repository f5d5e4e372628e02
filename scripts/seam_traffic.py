"""Seam traffic per accepted evidence: a burst of writes through an integrated COS + MC.

    .venv/bin/python scripts/seam_traffic.py                       # 200 writes, 20 at a time
    .venv/bin/python scripts/seam_traffic.py --writes 200 --code /path/to/other/checkout

Starts MC (with COS's receipt endpoint as its callback URL) and an integrated COS as processes on
loopback ports, sends a burst of evidence writes to COS, waits until every accepted evidence is
acknowledged by MC's receipt, then reads both services' /metrics and prints what the seam cost:
publishes COS sent, receipt callbacks MC sent, receipts per callback, and HTTP exchanges per
accepted evidence (accept + publishes + receipt callbacks; the one token request is left out).

Why a script and not a test: the numbers describe a design (batched receipts, docs/seam.md), not
a pass/fail promise; the behaviour itself is tested in tests/conductor/test_mc_receipts.py.
`--code` runs the services from another checkout (e.g. a worktree of an older commit) to compare;
a checkout without `mc_receipt_callbacks_total` (before batches) sent one callback per delivery
attempt, so its callbacks are counted as delivered + failed attempts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from contracts import examples  # noqa: E402
from harness.kit.service_pair import start_integrated_pair  # noqa: E402

USERNAME, PASSWORD = "qa", "qa-dev-password"
SETTLE_TIMEOUT_S = 180.0


def counters(url: str) -> dict[str, float]:
    """Every counter/gauge sample of a /metrics page, summed over labels, by sample name."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=10).text):
        for sample in family.samples:
            out[sample.name] = out.get(sample.name, 0.0) + sample.value
    return out


def labelled(url: str, name: str) -> dict[str, float]:
    """The samples of one counter by their single label value."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=10).text):
        for sample in family.samples:
            if sample.name == name:
                out[",".join(sample.labels.values()) or "-"] = sample.value
    return out


async def burst(url: str, token: str, writes: int, concurrency: int) -> int:
    slots = asyncio.Semaphore(concurrency)
    run = f"{time.time_ns()}"

    async def one(client: httpx.AsyncClient, i: int) -> bool:
        body = json.dumps(examples.evidence(i, release=f"burst {run} {i}"), sort_keys=True).encode()
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"burst-{run}-{i}"}
        async with slots:
            r = await client.post(
                "/v1/evidence", content=body, headers={**headers, "Content-Type": "application/json"}
            )
        return r.status_code == 202

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return sum(await asyncio.gather(*(one(client, i) for i in range(writes))))


def acknowledged(url: str, token: str) -> int:
    r = httpx.get(f"{url}/v1/evidence", params={"limit": 10000}, headers={"Authorization": f"Bearer {token}"})
    return sum(1 for item in r.json()["items"] if item["state"] == "acknowledged")


def measure(root: Path, code: Path, writes: int, concurrency: int) -> dict[str, object]:
    env = {"PYTHONPATH": str(code)}
    logs = root / "logs"
    pair = start_integrated_pair(root, logs, env=env)
    mc_url, url = pair.mc_url, pair.cos_url
    try:
        login = httpx.post(f"{url}/v1/login", json={"username": USERNAME, "password": PASSWORD})
        token = login.json()["access_token"]
        started = time.monotonic()
        accepted = asyncio.run(burst(url, token, writes, concurrency))
        burst_s = time.monotonic() - started
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while acknowledged(url, token) < accepted:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {acknowledged(url, token)} of {accepted} acknowledged in time")
            time.sleep(0.1)
        settled_s = time.monotonic() - started
        m, c = counters(mc_url), counters(url)
    finally:
        pair.stop()
    publishes = (
        c.get("evidence_published_total", 0.0)
        + c.get("evidence_publish_retries_total", 0.0)
        + c.get("evidence_publish_rejected_total", 0.0)
    )
    delivered = m.get("mc_receipts_delivered_total", 0.0)
    if "mc_receipt_callbacks_total" in m:
        callbacks, counted = m["mc_receipt_callbacks_total"], "mc_receipt_callbacks_total"
    else:
        callbacks = delivered + m.get("mc_receipts_failed_total", 0.0)
        counted = "delivered + failed attempts (one callback each: no callback counter in this code)"
    return {
        "code": str(code),
        "writes": writes,
        "concurrency": concurrency,
        "accepted": accepted,
        "publishes": publishes,
        "mc_stored": m.get("mc_evidence_stored_total", 0.0),
        "receipt_callbacks": callbacks,
        "receipt_callbacks_counted_as": counted,
        "receipts_delivered": delivered,
        "receipts_per_callback": round(delivered / callbacks, 2) if callbacks else None,
        "http_exchanges_per_evidence": round((accepted + publishes + callbacks) / accepted, 3),
        "burst_s": round(burst_s, 2),
        "all_acknowledged_s": round(settled_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--writes", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--code", type=Path, default=REPO, help="checkout whose services to run")
    args = p.parse_args(argv)
    os.chdir(args.code)  # `python -m` puts the working directory first on the services' path
    with tempfile.TemporaryDirectory(prefix="seam-traffic-") as tmp:
        result = measure(Path(tmp), args.code.resolve(), args.writes, args.concurrency)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
