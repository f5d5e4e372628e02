"""Evidence publishing: outbox → MC exactly once per key, acknowledged by MC's receipt."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from cos_helpers import bearer, evidence_doc, new_key, scrape, wait_for

from companyos.health import RuntimeStatus
from companyos.mc_client import PublishResult
from companyos.metrics import Metrics
from companyos.outbox import Outbox
from companyos.publisher import EvidencePublisher, delay_for, retry_wait


def submit(url: str, token: str, n: int) -> dict[str, str]:
    keys = {}
    for _ in range(n):
        key = new_key()
        r = httpx.post(
            f"{url}/v1/evidence", json=evidence_doc(), headers={**bearer(token), "Idempotency-Key": key}
        )
        assert r.status_code == 202
        keys[key] = r.json()["evidence_id"]
    return keys


def entries(url: str, token: str) -> dict[str, dict]:
    items = httpx.get(f"{url}/v1/evidence", headers=bearer(token)).json()["items"]
    return {i["idempotency_key"]: i for i in items}


def test_accepted_evidence_reaches_mc_once_and_is_acknowledged(integrated, mc) -> None:
    token = integrated.token()
    keys = submit(integrated.url, token, 8)
    wait_for(
        "all entries acknowledged",
        lambda: all(e["state"] == "acknowledged" for e in entries(integrated.url, token).values()),
    )
    ledger = mc.evidence()
    assert ledger["by_key"] == {k: 1 for k in keys}
    mc_ids = {item["idempotency_key"]: item["evidence_id"] for item in ledger["items"]}
    for key, entry in entries(integrated.url, token).items():
        assert entry["mc_evidence_id"] == mc_ids[key]
        assert entry["published_at"] and entry["acknowledged_at"]
    stored = {item["idempotency_key"]: item for item in ledger["items"]}
    shown = httpx.get(f"{integrated.url}/v1/evidence/{keys[next(iter(keys))]}", headers=bearer(token)).json()
    assert stored[shown["idempotency_key"]]["digest"] == shown["digest"]  # both: canonical JSON SHA-256
    health = httpx.get(f"{integrated.url}/healthz").json()
    assert health["outbox_depth"] == 0
    assert scrape(integrated.url, "evidence_publish_dedupe_total") == 0


def test_a_resend_after_lost_bookkeeping_is_a_replay_not_a_new_record(integrated, mc) -> None:
    """As after a kill -9 between MC's 201 and COS's commit: the entry is pending again."""
    token = integrated.token()
    key, evidence_id = next(iter(submit(integrated.url, token, 1).items()))
    # acknowledged, not just published: a receipt still on its way would otherwise overtake the
    # reset below and make the entry look republished without a resend
    wait_for("acknowledged", lambda: entries(integrated.url, token)[key]["state"] == "acknowledged")
    outbox = integrated.cos.outbox
    outbox.conn.execute(
        "UPDATE outbox SET state='pending', mc_evidence_id=NULL WHERE evidence_id=?", (evidence_id,)
    )
    integrated.cos.publisher.notify()
    wait_for("republished", lambda: entries(integrated.url, token)[key]["state"] != "pending")
    assert scrape(integrated.url, "evidence_publish_dedupe_total") == 1
    assert mc.evidence()["by_key"] == {key: 1}
    assert entries(integrated.url, token)[key]["mc_evidence_id"].startswith("ev_")


# -- outcome handling, with a scripted MC ---------------------------------------------------
class ScriptedClient:
    """Stands in for ConductorClient.publish_evidence: answers from a script, records calls."""

    def __init__(self, script: list[object]) -> None:
        self.script = script
        self.calls: list[tuple[bytes, str]] = []

    async def publish_evidence(self, body: bytes, key: str, *, token: str | None = None) -> PublishResult:
        self.calls.append((body, key))
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]


class StaticTokens:
    def __init__(self) -> None:
        self.invalidated = 0

    async def token(self) -> str:
        return "t"

    def invalidate(self) -> None:
        self.invalidated += 1


def result(status: int, replayed: bool = False, body: dict | None = None) -> PublishResult:
    headers = {"idempotent-replayed": "true"} if replayed else {}
    return PublishResult(status=status, headers=headers, body=body or {"evidence_id": "ev_1"})


@pytest.fixture
def outbox(tmp_path: Path):
    box = Outbox(tmp_path)
    yield box
    box.close()


def make(
    outbox: Outbox, script: list[object]
) -> tuple[EvidencePublisher, ScriptedClient, StaticTokens, Metrics, RuntimeStatus]:
    client, tokens, metrics, status = (
        ScriptedClient(script),
        StaticTokens(),
        Metrics(),
        RuntimeStatus("integrated"),
    )
    pub = EvidencePublisher(client, tokens, outbox, metrics, status, backoff_cap_s=2.0)  # type: ignore[arg-type]
    return pub, client, tokens, metrics, status


def put(outbox: Outbox, key: str = "k1") -> str:
    body = json.dumps(evidence_doc()).encode()
    assert outbox.begin(key, "d").__class__.__name__ == "Fresh"
    return outbox.accept(key, body, "d", 202)["evidence_id"]


def value(metrics: Metrics, name: str, labels: dict[str, str] | None = None) -> float:
    return metrics.registry.get_sample_value(name, labels or {}) or 0.0


def test_retry_outcomes_keep_the_key_and_back_off(outbox) -> None:
    evidence_id = put(outbox)
    script = [
        httpx.ConnectError("refused"),
        result(409, body={"reason": "idempotency_key_in_flight"}),
        result(401),
        result(503),
        result(201, replayed=True, body={"evidence_id": "ev_9"}),
    ]
    pub, client, tokens, metrics, status = make(outbox, script)
    outcomes = []
    for _ in range(5):
        entry = outbox.get(evidence_id)
        assert entry is not None
        outcomes.append(asyncio.run(pub.publish_one(entry)))
        if outcomes[-1] == "retry":
            assert outbox.get(evidence_id).next_attempt_at > time.time() - 0.01
    assert outcomes == ["retry", "retry", "retry", "retry", "replayed"]
    assert {key for _, key in client.calls} == {"k1"}  # the same key on every attempt
    assert len({body for body, _ in client.calls}) == 1  # and the same bytes
    for reason in ("unreachable", "in_flight", "unauthorized", "server_error"):
        assert value(metrics, "evidence_publish_retries_total", {"reason": reason}) == 1
    assert tokens.invalidated == 1
    assert value(metrics, "evidence_publish_dedupe_total") == 1
    entry = outbox.get(evidence_id)
    assert entry.state == "published" and entry.mc_evidence_id == "ev_9" and entry.attempts == 5
    assert status.mc_reachable is True


def test_permanent_refusal_is_parked_not_dropped(outbox) -> None:
    evidence_id = put(outbox)
    pub, _, _, metrics, _ = make(outbox, [result(422, body={"reason": "idempotency_key_reused"})])
    assert asyncio.run(pub.publish_one(outbox.get(evidence_id))) == "rejected"
    entry = outbox.get(evidence_id)
    assert entry.state == "pending" and entry.last_error == "rejected:idempotency_key_reused"
    assert entry.next_attempt_at >= time.time() + 1.5
    assert value(metrics, "evidence_publish_rejected_total", {"reason": "idempotency_key_reused"}) == 1


def test_backoff_grows_with_jitter_and_is_bounded() -> None:
    wait = retry_wait(3.0)
    delays = [delay_for(wait, n) for n in range(1, 12)]
    assert 0.2 <= delays[0] <= 0.5
    assert all(d <= 3.0 for d in delays)
    assert delays[-1] == 3.0
    assert len({round(delay_for(wait, 2), 6) for _ in range(20)}) > 1  # jittered


def test_a_receipt_before_the_publish_answer_is_not_downgraded(outbox) -> None:
    evidence_id = put(outbox)
    outbox.acknowledge("k1", "ev_1")
    outbox.mark_published(evidence_id, "ev_1", replayed=False)
    assert outbox.get(evidence_id).state == "acknowledged"


def test_crash_leftover_in_flight_markers_are_cleared_at_open(tmp_path) -> None:
    box = Outbox(tmp_path)
    assert box.begin("k", "d").__class__.__name__ == "Fresh"  # in flight, then the process "dies"
    box.close()
    box = Outbox(tmp_path)
    try:
        assert box.begin("k", "d").__class__.__name__ == "Fresh"  # not 409 for a minute
    finally:
        box.close()


class HeldClient:
    """publish_evidence that holds one key until released and records how many sends overlap."""

    def __init__(self, held_key: str) -> None:
        self.held_key = held_key
        self.release = asyncio.Event()
        self.calls: list[str] = []
        self.in_flight = 0
        self.peak = 0

    async def publish_evidence(self, body: bytes, key: str, *, token: str | None = None) -> PublishResult:
        self.calls.append(key)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if key == self.held_key:
                await self.release.wait()
            else:
                await asyncio.sleep(0.01)
            return result(201, body={"evidence_id": f"ev_{key}"})
        finally:
            self.in_flight -= 1


def test_a_slow_send_holds_one_slot_not_the_queue(outbox) -> None:
    """Rolling window: with 2 slots, 11 entries are published while the first one hangs; no entry
    is sent twice at once, and never more than 2 sends overlap."""
    ids = [put(outbox, f"k{i}") for i in range(12)]
    client = HeldClient("k0")
    pub = EvidencePublisher(
        client,  # type: ignore[arg-type]
        StaticTokens(),  # type: ignore[arg-type]
        outbox,
        Metrics(),
        RuntimeStatus("integrated"),
        backoff_cap_s=2.0,
        concurrency=2,
    )

    async def scenario() -> None:
        runner = asyncio.create_task(pub.run())
        deadline = time.monotonic() + 10
        while outbox.counts()["published"] < 11:
            assert time.monotonic() < deadline, f"stuck behind the slow send: {outbox.counts()}"
            await asyncio.sleep(0.02)
        assert outbox.get(ids[0]).state == "pending" and client.calls.count("k0") == 1
        client.release.set()
        while outbox.counts()["published"] < 12:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner

    asyncio.run(scenario())
    assert sorted(client.calls) == sorted(f"k{i}" for i in range(12))  # each exactly once
    assert client.peak == 2
