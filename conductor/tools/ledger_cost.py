"""`python -m conductor.tools.ledger_cost`: what one ledger check costs as MC's history grows.

Why: a long-lived MC sandbox keeps every record of every run, and the suite's ledger check used
to read the whole evidence table on each poll (issue 16). For each size this seeds N records
straight into a fresh data dir (executemany in big transactions — the HTTP path would take hours
for a million), starts MC as a process (its first start builds the ledger indexes: timed), then
times over HTTP on the admin listener:

- the check the harness does: `POST /admin/evidence/query` for the keys and digests of `--probe`
  records spread over the whole history (every page followed; every record must come back);
- one default page of `GET /admin/evidence` (its counts included);
- the full listing: every page of `GET /admin/evidence` followed to the end — with `--mc-root`
  pointing at a checkout from before pagination, that is the old one-answer listing.

Prints one line per size: seed s, start s, query ms (median of `--repeat`) and bytes, the same
query inside the store without HTTP (ms), page ms and bytes, full listing s and MB, MC's peak RSS.
Loopback only; the data dirs are deleted afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from conductor.db import Database
from conductor.evidence_store import SCHEMA, EvidenceStore
from seam.idempotency import SCHEMA as IDEMPOTENCY_SCHEMA

REPO = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": "Bearer mc-admin-dev"}  # MC's documented development admin token
CLIENT = "companyos"
CHUNK = 50_000  # rows per seeding transaction
_DOC = (
    '{{"kind":"test-report","payload":{{"failed":0,"passed":412,"suite":"acceptance"}},'
    '"produced_at":"2026-11-26T06:00:00Z","release":"2026.11.{i}",'
    '"subject":{{"digest":{{"sha256":"{subject}"}},"name":"payments-api"}}}}'
)


def key_of(i: int) -> str:
    return f"seed-{i:09d}"


def digest_of(i: int) -> str:
    """The stored digest of record i: the sha-256 of its canonical document, as MC computes it."""
    return hashlib.sha256(document_of(i).encode()).hexdigest()


def document_of(i: int) -> str:
    return _DOC.format(i=i, subject=hashlib.sha256(str(i).encode()).hexdigest())


def _rows(start: int, stop: int) -> tuple[list[tuple], list[tuple], list[tuple]]:
    evidence, receipts, ledger = [], [], []
    for i in range(start, stop):
        evidence_id, key, doc = f"ev_{i:032x}", key_of(i), document_of(i)
        digest = hashlib.sha256(doc.encode()).hexdigest()
        stored = {"evidence_id": evidence_id, "idempotency_key": key, "status": "stored", "digest": digest}
        evidence.append((evidence_id, key, CLIENT, digest, "2026-11-26T06:00:01Z", "rest", doc, 0))
        receipt = {**stored, "client_id": CLIENT, "stored_at": "2026-11-26T06:00:01Z"}
        receipts.append((evidence_id, CLIENT, json.dumps(receipt), "2026-11-26T06:00:02Z"))
        ledger.append((f"{CLIENT} {key}", digest, json.dumps(stored), 1764136801.0))
    return evidence, receipts, ledger


def seed(db_path: Path, n: int) -> float:
    """Write n records (evidence, delivered receipt, idempotency record) in CHUNK-row transactions;
    MC's own schema, without the ledger indexes (MC's first start builds them). Returns seconds."""
    started = time.perf_counter()
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")  # a throwaway dir: durability is not what is measured
        for statement in (*(s for s in SCHEMA if "CREATE TABLE" in s), IDEMPOTENCY_SCHEMA):
            conn.execute(statement)
        for start in range(0, n, CHUNK):
            evidence, receipts, ledger = _rows(start, min(n, start + CHUNK))
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO evidence(id, idempotency_key, client_id, digest, received_at, api, document,"
                " replays) VALUES (?,?,?,?,?,?,?,?)",
                evidence,
            )
            conn.executemany(
                "INSERT INTO receipts(evidence_id, client_id, body, state, attempts, delivered_at)"
                " VALUES (?,?,?,'delivered',1,?)",
                receipts,
            )
            conn.executemany(
                "INSERT INTO idempotency(key, body_digest, state, status, response, started_at)"
                " VALUES (?,?,'done',201,?,?)",
                ledger,
            )
            conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Running:
    admin_url: str
    pid: int
    start_s: float

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


@contextmanager
def conductor(data_dir: Path, mc_root: Path, log: Path, ready_within_s: float) -> Iterator[Running]:
    """MC from `mc_root` on loopback free ports; ready when /readyz answers 200 (bounded wait)."""
    port, admin_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MC_", "SEAM_"))}
    started = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "conductor", "--port", str(port), "--admin-port", str(admin_port)]
            + ["--data-dir", str(data_dir)],
            cwd=mc_root,
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        deadline = started + ready_within_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"MC exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"MC not ready within {ready_within_s} s: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield Running(f"http://127.0.0.1:{admin_port}", proc.pid, time.perf_counter() - started)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _walk(send: Any, max_pages: int, keep: bool = True) -> tuple[list[dict[str, Any]], int, int]:
    """Follow `next` from the first page (an answer without `next` is the whole ledger): the items
    (if `keep`), their count and the bytes received."""
    items: list[dict[str, Any]] = []
    size = count = 0
    after = None
    for _ in range(max_pages):
        resp = send(after)
        resp.raise_for_status()
        size += len(resp.content)
        body = resp.json()
        count += len(body["items"])
        if keep:
            items.extend(body["items"])
        after = body.get("next")
        if after is None:
            return items, count, size
    raise RuntimeError(f"still more pages after {max_pages}")


def ledger_check(http: httpx.Client, n: int, probe: int) -> tuple[float, int] | None:
    """The harness's check: one query for `probe` records' keys and digests spread over history.
    Returns (seconds, bytes), or None if this MC has no query endpoint (an old checkout)."""
    picks = [k * n // probe for k in range(probe)]
    body = {"keys": [key_of(i) for i in picks], "digests": [digest_of(i) for i in picks]}
    started = time.perf_counter()
    try:
        items, _, size = _walk(
            lambda after: http.post("/admin/evidence/query", json={**body, "after": after}), 100
        )
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code in (404, 405):
            return None
        raise
    elapsed = time.perf_counter() - started
    found = {item["idempotency_key"] for item in items}
    if found != set(body["keys"]) or len(items) != probe:
        raise AssertionError(f"the query found {len(items)} records for {probe} probes")
    return elapsed, size


def timed_get(http: httpx.Client, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    resp = http.get(path)
    resp.raise_for_status()
    return time.perf_counter() - started, len(resp.content)


def full_listing(http: httpx.Client, n: int) -> tuple[float, int]:
    started = time.perf_counter()
    _, count, size = _walk(
        lambda after: http.get("/admin/evidence", params={} if after is None else {"after": after}),
        n,
        keep=False,
    )
    if count != n:
        raise AssertionError(f"the full listing gave {count} of {n} records")
    return time.perf_counter() - started, size


def _transport() -> httpx.HTTPTransport:
    """TCP_NODELAY: httpx writes a POST's headers and body separately, and Nagle would hold the
    body for the server's delayed ACK (~40 ms on loopback) — the harness's client does the same."""
    return httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])


def measure(n: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    data_dir = work / f"mc-{n}"
    data_dir.mkdir()
    row: dict[str, Any] = {"records": n, "seed_s": seed(data_dir / "conductor.db", n)}
    with (
        conductor(data_dir, args.mc_root, work / f"mc-{n}.log", args.ready_within) as mc,
        httpx.Client(
            base_url=mc.admin_url, headers=ADMIN, timeout=args.timeout, transport=_transport()
        ) as http,
    ):
        row["start_s"] = mc.start_s
        checks = [ledger_check(http, n, args.probe) for _ in range(args.repeat)]
        if checks[0] is not None:
            row["query_ms"] = statistics.median(c[0] for c in checks) * 1000  # type: ignore[index]
            row["query_max_ms"] = max(c[0] for c in checks) * 1000  # type: ignore[index]
            row["query_bytes"] = checks[0][1]
        if n <= args.page_max_records:
            pages = [timed_get(http, "/admin/evidence?limit=1000") for _ in range(args.repeat)]
            row["page_ms"] = statistics.median(p[0] for p in pages) * 1000
            row["page_bytes"] = pages[0][1]
        if n <= args.full_max:
            row["full_s"], row["full_bytes"] = full_listing(http, n)
        row["peak_rss_mb"] = mc.peak_rss_mb()
    if "query_ms" in row:  # this MC has the query (and this checkout's store is the one it ran)
        row["store_ms"] = store_query_ms(data_dir / "conductor.db", n, args.probe, args.repeat)
    return row


def store_query_ms(db_path: Path, n: int, probe: int, repeat: int) -> float:
    """The same check inside MC's store, without HTTP (median ms): what the index search costs."""
    store = EvidenceStore(Database(db_path))
    picks = [k * n // probe for k in range(probe)]
    keys, digests = [key_of(i) for i in picks], [digest_of(i) for i in picks]
    times = []
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            found = store.matching(keys, digests, 0, 1000)
            times.append(time.perf_counter() - started)
            if len(found) != probe:
                raise AssertionError(f"the store found {len(found)} records for {probe} probes")
    finally:
        store._db.close()
    return statistics.median(times) * 1000


def _fmt(row: dict[str, Any]) -> str:
    def get(name: str, fmt: str, scale: float = 1.0) -> str:
        return format(row[name] * scale if scale != 1.0 else row[name], fmt) if name in row else "—"

    cells = [
        f"{row['records']:,}",
        get("seed_s", ".1f"),
        get("start_s", ".1f"),
        f"{get('query_ms', '.1f')} (max {get('query_max_ms', '.1f')})",
        get("query_bytes", ","),
        get("store_ms", ".2f"),
        get("page_ms", ".1f"),
        get("page_bytes", ","),
        get("full_s", ".2f"),
        get("full_bytes", ".1f", 1e-6),
        get("peak_rss_mb", ".0f"),
    ]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,100000,1000000", help="records per run, comma-separated")
    p.add_argument("--probe", type=int, default=50, help="records the check asks for (default 50)")
    p.add_argument("--repeat", type=int, default=20, help="timed checks per size (default 20)")
    p.add_argument("--full-max", type=int, default=1_000_000, help="skip the full listing above this size")
    p.add_argument("--page-max-records", type=int, default=10**9, help="skip the single page above this")
    p.add_argument("--mc-root", type=Path, default=REPO, help="the checkout whose MC to run")
    p.add_argument("--ready-within", type=float, default=600.0, help="seconds MC may take to start")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per HTTP answer")
    p.add_argument("--json", action="store_true", help="print the rows as JSON lines too")
    args = p.parse_args(argv)
    print(f"MC from {args.mc_root}; ledger check = query for {args.probe} keys + digests", flush=True)
    print(
        "| records | seed s | first start s | check ms (median of "
        f"{args.repeat}) | check bytes | same in the store ms | page ms | page bytes "
        "| full listing s | full MB | MC peak RSS MB |",
        flush=True,
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    with tempfile.TemporaryDirectory(prefix="ledger-cost-") as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            row = measure(n, args, Path(tmp))
            print(_fmt(row), flush=True)
            if args.json:
                print(json.dumps(row), flush=True)
            for f in Path(tmp).glob(f"mc-{n}/*"):
                f.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
