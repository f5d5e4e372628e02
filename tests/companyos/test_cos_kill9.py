"""Kill -9 of COS while it publishes: nothing accepted is lost, nothing is stored twice at MC.

Real subprocesses on loopback ports. MC holds each new evidence 100 ms in
flight so the drain is slow enough to be interrupted; COS is SIGKILLed once
MC has stored some but not all of the accepted evidence, restarted on the
same data dir and port, and must then drain the rest — resending with the
same keys, which MC answers as replays.
"""

from __future__ import annotations

import httpx
import pytest
from cos_helpers import (
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

N = 80


@pytest.mark.slow
def test_kill9_mid_drain_loses_nothing_and_duplicates_nothing(tmp_path) -> None:
    cos_port = free_port()
    cos_url = f"http://127.0.0.1:{cos_port}"
    mc = start_mc(
        tmp_path / "mc",
        callback_url=f"{cos_url}/v1/callbacks/evidence-receipts",
        extra=["--test-evidence-delay-ms", "100"],
    )
    cos = start_cos_proc(tmp_path / "cos", cos_port, mc.url)
    admin = httpx.Client(timeout=10, headers={"Authorization": "Bearer mc-admin-dev"})
    try:
        token = login(cos_url)
        accepted: set[str] = set()
        with httpx.Client(timeout=10) as client:
            for _ in range(N):
                key = new_key()
                r = client.post(
                    f"{cos_url}/v1/evidence",
                    json=evidence_doc(),
                    headers={**bearer(token), "Idempotency-Key": key},
                )
                assert r.status_code == 202, r.text
                accepted.add(key)

        stored_at_kill = wait_for(
            "MC to store some of the evidence",
            lambda: (n := admin.get(f"{mc.admin_url}/admin/evidence").json()["total"]) > 0 and n,
            timeout_s=10,
            interval_s=0.01,
        )
        cos.kill9()
        assert stored_at_kill < N, "the drain finished before the kill; the test did not interrupt it"

        cos = start_cos_proc(tmp_path / "cos", cos_port, mc.url)
        wait_drained(cos_url, timeout_s=30)
        ledger = admin.get(f"{mc.admin_url}/admin/evidence").json()
        assert set(ledger["by_key"]) == accepted, "MC's keys differ from what COS accepted"
        assert ledger["distinct_keys"] == len(accepted) == N
        assert ledger["total"] == N, f"duplicates at MC: {[k for k, n in ledger['by_key'].items() if n > 1]}"
        items = httpx.get(f"{cos_url}/v1/evidence", headers=bearer(login(cos_url))).json()["items"]
        assert {i["idempotency_key"] for i in items} == accepted
        assert all(i["state"] in ("published", "acknowledged") and i["mc_evidence_id"] for i in items)
        # both COS runs logged to this file: no client secret, no password, no token in it
        log = cos.log_path.read_text()
        assert "evidence" in log or "MC" in log
        for secret in ("companyos-dev-secret", "eyJ", token):
            assert secret not in log
    finally:
        admin.close()
        cos.stop()
        mc.stop()
