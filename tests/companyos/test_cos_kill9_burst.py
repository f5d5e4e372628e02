"""Kill -9 of COS during a burst of concurrent writes (group commit, issue 16).

With group commit many accepts share one transaction, so the risk to rule out
is a 202 sent for a row whose batch had not committed yet. Real subprocesses
on loopback ports: 20 writers keep 20 submissions in flight; once 60 have been
answered 202, COS is SIGKILLed (the others are cut off mid-request), restarted
on the same data dir and port, and must then hold every key it answered 202
for and deliver each one to MC exactly once.
"""

from __future__ import annotations

import threading

import httpx
import pytest
from cos_helpers import (
    MC,
    bearer,
    evidence_doc,
    free_port,
    login,
    new_key,
    start_cos_proc,
    start_mc,
    wait_drained,
    wait_for,
)

WRITERS = 20
PER_WRITER = 10  # 200 submissions at most
KILL_AFTER = 60


class Burst:
    """Concurrent writers that record which keys got a 202 and which got no answer."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.accepted: set[str] = set()
        self.unanswered: set[str] = set()
        self.other: list[str] = []
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._write, daemon=True) for _ in range(WRITERS)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in self.threads), "a writer is still waiting for COS"

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def _write(self) -> None:
        with httpx.Client(timeout=10) as client:
            for _ in range(PER_WRITER):
                key = new_key()
                try:
                    r = client.post(
                        f"{self.url}/v1/evidence",
                        json=evidence_doc(),
                        headers={**bearer(self.token), "Idempotency-Key": key},
                    )
                except httpx.TransportError:
                    with self._lock:
                        self.unanswered.add(key)  # cut off by the kill: may or may not be stored
                    return
                with self._lock:
                    if r.status_code == 202:
                        self.accepted.add(key)
                    else:
                        self.other.append(f"{r.status_code} {r.text[:200]}")


@pytest.mark.slow
def test_kill9_during_a_burst_keeps_every_202_and_mc_stores_each_once(tmp_path) -> None:
    cos_port = free_port()
    cos_url = f"http://127.0.0.1:{cos_port}"
    mc_proc = start_mc(tmp_path / "mc", callback_url=f"{cos_url}/v1/callbacks/evidence-receipts")
    mc = MC(url=mc_proc.url, proc=mc_proc)
    cos = start_cos_proc(tmp_path / "cos", cos_port, mc_proc.url)
    try:
        burst = Burst(cos_url, login(cos_url))
        burst.start()
        wait_for(
            f"{KILL_AFTER} answers of 202",
            lambda: burst.count() >= KILL_AFTER,
            timeout_s=30,
            interval_s=0.002,
        )
        cos.kill9()
        burst.join()
        assert not burst.other, f"answers other than 202 before the kill: {burst.other[:3]}"
        assert burst.unanswered, (
            "no submission was in flight at the kill: the test did not interrupt the burst"
        )
        assert len(burst.accepted) < WRITERS * PER_WRITER

        cos = start_cos_proc(tmp_path / "cos", cos_port, mc_proc.url)
        wait_drained(cos_url, timeout_s=60)
        items = httpx.get(f"{cos_url}/v1/evidence?limit=1000", headers=bearer(login(cos_url))).json()["items"]
        in_outbox = {i["idempotency_key"] for i in items}
        lost = burst.accepted - in_outbox
        assert not lost, (
            f"{len(lost)} keys answered 202 are not in the outbox after the kill: {sorted(lost)[:3]}"
        )
        assert in_outbox <= burst.accepted | burst.unanswered, "the outbox holds keys nobody sent"
        assert all(i["state"] in ("published", "acknowledged") and i["mc_evidence_id"] for i in items)

        ledger = mc.evidence()
        duplicates = {k: n for k, n in ledger["by_key"].items() if n > 1}
        assert not duplicates, f"stored more than once at MC: {duplicates}"
        assert set(ledger["by_key"]) == in_outbox, "MC's keys differ from COS's outbox"
        assert ledger["total"] == len(in_outbox)
    finally:
        cos.stop()
        mc_proc.stop()
