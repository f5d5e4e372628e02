"""POST/GET /v1/evidence: idempotency, digests, limits, validation, durability."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from mc_helpers import (
    ADMIN,
    BASE,
    CREDENTIALS,
    AppFactory,
    bearer,
    canonical_sha256,
    content_digest,
    evidence_doc,
    get_token,
    post_evidence,
)
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient


def test_first_publish_is_201_with_location(client: TestClient, token: str) -> None:
    doc = evidence_doc()
    r = post_evidence(client, token, "key-1", doc)
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"evidence_id", "idempotency_key", "status", "received_at", "digest"}
    assert body["status"] == "stored"
    assert body["idempotency_key"] == "key-1"
    assert body["digest"] == canonical_sha256(doc)
    assert r.headers["location"] == f"/v1/evidence/{body['evidence_id']}"
    assert "idempotent-replayed" not in r.headers
    stored = client.get(r.headers["location"], headers=bearer(token))
    assert stored.status_code == 200
    record = stored.json()
    assert record["evidence"] == doc
    assert record["evidence_id"] == body["evidence_id"]
    assert record["client_id"] == "companyos"


def test_replay_returns_the_original_response(client: TestClient, token: str) -> None:
    first = post_evidence(client, token, "key-r", evidence_doc())
    # Same document, different bytes on the wire: still the same body for idempotency.
    reformatted = json.dumps(evidence_doc(), indent=2, sort_keys=True).encode()
    again = post_evidence(client, token, "key-r", body=reformatted)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    ledger = client.get("/admin/evidence", headers=ADMIN).json()
    assert ledger["total"] == 1 and ledger["by_key"] == {"key-r": 1}
    assert ledger["items"][0]["replays"] == 1


def test_same_key_different_body_is_422(client: TestClient, token: str) -> None:
    assert post_evidence(client, token, "key-m", evidence_doc()).status_code == 201
    r = post_evidence(client, token, "key-m", evidence_doc(release="2026.12.0"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["reason"] == "idempotency_key_reused"


def test_same_key_in_flight_is_409(make_app: AppFactory) -> None:
    app = make_app(test_evidence_delay_ms=400)
    store = app.state.conductor.store
    raw = json.dumps(evidence_doc()).encode()

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
            tok = (
                await c.post(
                    "/v1/tokens",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": "companyos",
                        "client_secret": "companyos-dev-secret",
                    },
                )
            ).json()
            headers = {
                **bearer(tok["access_token"]),
                "Idempotency-Key": "key-f",
                "Content-Digest": content_digest(raw),
                "Content-Type": "application/json",
            }
            first = asyncio.create_task(c.post("/v1/evidence", content=raw, headers=headers))
            for _ in range(200):  # bounded wait until the first request holds the key
                if store.is_in_flight("companyos", "key-f"):
                    break
                await asyncio.sleep(0.005)
            assert store.is_in_flight("companyos", "key-f")
            second = await c.post("/v1/evidence", content=raw, headers=headers)
            return await first, second

    first, second = asyncio.run(scenario())
    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["reason"] == "idempotency_key_in_flight"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Idempotency-Key": None}, "missing_idempotency_key"),
        ({"Idempotency-Key": "has space"}, "invalid_idempotency_key"),
        ({"Content-Digest": None}, "missing_content_digest"),
        ({"Content-Digest": content_digest(b"other bytes")}, "content_digest_mismatch"),
        ({"Content-Digest": "sha-512=:AAAA:"}, "content_digest_mismatch"),
        ({"Content-Digest": "garbage"}, "content_digest_mismatch"),
    ],
)
def test_header_errors_are_400(client: TestClient, token: str, headers: dict, reason: str) -> None:
    raw = json.dumps(evidence_doc()).encode()
    base = {
        **bearer(token),
        "Content-Type": "application/json",
        "Idempotency-Key": "k",
        "Content-Digest": content_digest(raw),
    }
    for name, value in headers.items():
        if value is None:
            del base[name]
        else:
            base[name] = value
    r = client.post("/v1/evidence", content=raw, headers=base)
    assert r.status_code == 400
    assert r.json()["reason"] == reason
    assert client.get("/admin/evidence", headers=ADMIN).json()["total"] == 0


def test_malformed_json_is_400(client: TestClient, token: str) -> None:
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        r = post_evidence(client, token, "k", body=raw)
        assert r.status_code == 400
        assert r.json()["reason"] == "malformed_json"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "poem"}, "kind"),
        ({"release": ""}, "release"),
        ({"subject": {"name": "api", "digest": {"sha256": "XYZ"}}}, "subject.digest.sha256"),
        ({"produced_at": "yesterday"}, "produced_at"),
        ({"payload": [1]}, "payload"),
        ({"extra": 1}, "extra"),
    ],
)
def test_schema_errors_are_422_naming_the_field(
    client: TestClient, token: str, change: dict, field: str
) -> None:
    r = post_evidence(client, token, "k", evidence_doc(**change))
    assert r.status_code == 422
    assert r.json()["reason"] == "invalid_evidence"
    assert r.json()["field"] == field


def test_oversize_body_is_413(client: TestClient, token: str) -> None:
    doc = evidence_doc(payload={"blob": "x" * (64 * 1024)})
    r = post_evidence(client, token, "k-big", doc)
    assert r.status_code == 413
    assert r.json()["reason"] == "body_too_large"
    just_under = evidence_doc(payload={"blob": "x" * (60 * 1024)})
    assert post_evidence(client, token, "k-ok", just_under).status_code == 201


def test_get_unknown_or_foreign_evidence_is_404(client: TestClient, token: str) -> None:
    r = client.get("/v1/evidence/ev_missing", headers=bearer(token))
    assert r.status_code == 404 and r.json()["reason"] == "unknown_evidence"
    location = post_evidence(client, token, "k-own", evidence_doc()).headers["location"]
    other = client.post(
        "/admin/tokens", json={"client_id": "someone-else", "scopes": ["evidence:write"]}, headers=ADMIN
    ).json()["access_token"]
    assert client.get(location, headers=bearer(other)).status_code == 404


def test_evidence_survives_restart(make_app: AppFactory) -> None:
    with TestClient(make_app(), base_url=BASE) as c:
        tok = get_token(c)
        first = post_evidence(c, tok, "durable", evidence_doc())
        assert first.status_code == 201
    with TestClient(make_app(), base_url=BASE) as c:
        tok = get_token(c)
        assert c.get(first.headers["location"], headers=bearer(tok)).status_code == 200
        replay = post_evidence(c, tok, "durable", evidence_doc())
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == first.json()
        assert post_evidence(c, tok, "durable", evidence_doc(release="x")).status_code == 422


def test_admin_ledger_counts_per_key(client: TestClient, token: str) -> None:
    for i in range(3):
        post_evidence(client, token, f"key-{i}", evidence_doc(release=f"r{i}"))
    post_evidence(client, token, "key-0", evidence_doc(release="r0"))
    ledger = client.get("/admin/evidence", headers=ADMIN).json()
    assert ledger["total"] == 3
    assert ledger["distinct_keys"] == 3
    assert ledger["by_key"] == {"key-0": 1, "key-1": 1, "key-2": 1}
    assert [item["evidence"]["release"] for item in ledger["items"]] == ["r0", "r1", "r2"]


def _sample(metrics_text: str, name: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    raise AssertionError(f"{name} is not on /metrics")


def test_concurrent_publishes_share_commits_and_metrics_count_them(make_app: AppFactory) -> None:
    """Group commit: each publish is one write (record + ledger entry + receipt; the key is claimed in
    memory, issue 16); serially each is its own commit (fsync), a burst of concurrent publishes shares
    them (seam/group_commit.py)."""
    app = make_app()
    burst = 50

    async def scenario() -> tuple[str, str, list[httpx.Response]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
            tok = (await c.post("/v1/tokens", data=CREDENTIALS)).json()["access_token"]

            def publish(key: str) -> Any:
                raw = json.dumps(evidence_doc(release=key)).encode()
                headers = {
                    **bearer(tok),
                    "Idempotency-Key": key,
                    "Content-Digest": content_digest(raw),
                    "Content-Type": "application/json",
                }
                return c.post("/v1/evidence", content=raw, headers=headers)

            for i in range(3):
                assert (await publish(f"serial-{i}")).status_code == 201
            serial = (await c.get("/metrics")).text
            answers = await asyncio.gather(*(publish(f"burst-{i}") for i in range(burst)))
            return serial, (await c.get("/metrics")).text, answers

    serial, after, answers = asyncio.run(scenario())
    assert [r.status_code for r in answers] == [201] * burst
    assert _sample(serial, "mc_evidence_rows_committed_total") == 3
    assert _sample(serial, "mc_evidence_writes_committed_total") == 3
    assert _sample(serial, "mc_evidence_commits_total") == 3  # one fsync per publish (was 2: marker)
    rows = _sample(after, "mc_evidence_rows_committed_total") - 3
    writes = _sample(after, "mc_evidence_writes_committed_total") - 3
    commits = _sample(after, "mc_evidence_commits_total") - 3
    assert rows == burst and writes == burst
    assert commits < writes, f"{burst} concurrent publishes took {commits} commits for {writes} writes"
    ledger = app.state.conductor.store.all()
    assert len(ledger) == burst + 3 and len({r.idempotency_key for r in ledger}) == burst + 3
