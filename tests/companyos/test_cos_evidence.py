"""The write path: evidence accepted into the durable outbox with the seam's idempotency rules."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading

import httpx
import pytest
from cos_helpers import bearer, evidence_doc, login, new_key, scrape

from seam import digest


def post(url: str, token: str, key: str | None, body: bytes, **headers: str) -> httpx.Response:
    h = {**bearer(token), "Content-Type": "application/json", **headers}
    if key is not None:
        h["Idempotency-Key"] = key
    return httpx.post(f"{url}/v1/evidence", content=body, headers=h)


def test_first_submission_is_202_and_lands_in_the_outbox(standalone, token) -> None:
    key, body = new_key(), json.dumps(evidence_doc()).encode()
    r = post(standalone.url, token, key, body, **{"Content-Digest": digest.content_digest(body)})
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["idempotency_key"] == key and accepted["status"] == "accepted"
    assert r.headers["location"] == f"/v1/evidence/{accepted['evidence_id']}"
    shown = httpx.get(f"{standalone.url}/v1/evidence/{accepted['evidence_id']}", headers=bearer(token)).json()
    assert shown["state"] == "pending" and shown["mc_evidence_id"] is None
    assert shown["document"] == json.loads(body)
    listed = httpx.get(f"{standalone.url}/v1/evidence", headers=bearer(token)).json()
    assert key in {item["idempotency_key"] for item in listed["items"]}
    assert listed["counts"]["pending"] >= 1
    pending = httpx.get(f"{standalone.url}/v1/evidence?state=pending", headers=bearer(token)).json()
    assert all(item["state"] == "pending" for item in pending["items"])


def test_same_key_same_body_replays_the_original_answer(standalone, token) -> None:
    key, doc = new_key(), evidence_doc()
    first = post(standalone.url, token, key, json.dumps(doc).encode())
    # same document, different bytes (key order, whitespace): still the same body
    second = post(standalone.url, token, key, json.dumps(doc, indent=2, sort_keys=True).encode())
    assert second.status_code == first.status_code == 202
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    listed = httpx.get(f"{standalone.url}/v1/evidence", headers=bearer(token)).json()["items"]
    assert [i["idempotency_key"] for i in listed].count(key) == 1


def test_same_key_different_body_is_422(standalone, token) -> None:
    key = new_key()
    assert post(standalone.url, token, key, json.dumps(evidence_doc()).encode()).status_code == 202
    r = post(standalone.url, token, key, json.dumps(evidence_doc()).encode())
    assert r.status_code == 422 and r.json()["reason"] == "idempotency_key_reused"


def test_same_key_while_in_flight_is_409(start_cos) -> None:
    cos = start_cos(test_latency_ms=400)
    token = cos.token()
    key, body = new_key(), json.dumps(evidence_doc()).encode()
    results: list[httpx.Response] = []
    first = threading.Thread(target=lambda: results.append(post(cos.url, token, key, body)))
    first.start()
    # whichever request arrives first holds the key in flight for 400 ms; the others see 409
    for _ in range(40):
        results.append(post(cos.url, token, key, body))
        if results[-1].status_code == 409:
            break
    first.join()
    statuses = [r.status_code for r in results]
    fresh = [r for r in results if r.status_code == 202 and "idempotent-replayed" not in r.headers]
    assert len(fresh) == 1, statuses
    conflicts = [r for r in results if r.status_code == 409]
    assert conflicts and all(r.json()["reason"] == "idempotency_key_in_flight" for r in conflicts), statuses
    assert post(cos.url, token, key, body).headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize(
    "key,body,headers,status,reason",
    [
        (None, json.dumps(evidence_doc()).encode(), {}, 400, "missing_idempotency_key"),
        ("has space", json.dumps(evidence_doc()).encode(), {}, 400, "invalid_idempotency_key"),
        ("k", b'{"release": "2026.11", ', {}, 400, "malformed_json"),
        ("k", b"[]", {}, 400, "malformed_json"),
        (
            "k",
            json.dumps(evidence_doc()).encode(),
            {"Content-Digest": digest.content_digest(b"x")},
            400,
            "content_digest_mismatch",
        ),
        (
            "k",
            json.dumps(evidence_doc()).encode(),
            {"Content-Digest": "garbage"},
            400,
            "content_digest_mismatch",
        ),
        ("k", json.dumps(evidence_doc(payload={"blob": "x" * 70000})).encode(), {}, 413, "body_too_large"),
    ],
)
def test_bad_submissions(standalone, token, key, body, headers, status, reason) -> None:
    key = f"{key}-{new_key()}" if key == "k" else key
    r = post(standalone.url, token, key, body, **headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["reason"] == reason


@pytest.mark.parametrize(
    "change,field",
    [
        ({"kind": "poem"}, "kind"),
        ({"release": ""}, "release"),
        ({"subject": {"name": "api", "digest": {"sha256": "XYZ"}}}, "subject.digest.sha256"),
        ({"produced_at": "yesterday"}, "produced_at"),
        ({"extra": 1}, "extra"),
    ],
)
def test_schema_errors_are_422_naming_the_field(standalone, token, change, field) -> None:
    r = post(standalone.url, token, new_key(), json.dumps(evidence_doc(**change)).encode())
    assert r.status_code == 422
    assert r.json()["reason"] == "invalid_evidence" and r.json()["field"] == field


def test_a_rejected_body_does_not_burn_the_key(standalone, token) -> None:
    key = new_key()
    assert post(standalone.url, token, key, json.dumps(evidence_doc(kind="poem")).encode()).status_code == 422
    assert post(standalone.url, token, key, json.dumps(evidence_doc()).encode()).status_code == 202


def test_unknown_evidence_is_404(standalone, token) -> None:
    r = httpx.get(f"{standalone.url}/v1/evidence/nope", headers=bearer(token))
    assert r.status_code == 404 and r.json()["reason"] == "unknown_evidence"


def test_evidence_201_mutation(start_cos) -> None:
    cos = start_cos(seam_mutations=frozenset({"cos.evidence-201"}))
    assert post(cos.url, cos.token(), new_key(), json.dumps(evidence_doc()).encode()).status_code == 201


def test_accepted_evidence_survives_a_restart_and_standalone_never_publishes(start_cos, tmp_path) -> None:
    data = tmp_path / "durable"
    first = start_cos(data_dir=data)
    token = login(first.url)
    keys = [new_key() for _ in range(5)]
    bodies = {k: json.dumps(evidence_doc()).encode() for k in keys}
    for k in keys:
        assert post(first.url, token, k, bodies[k]).status_code == 202
    first.stop()
    # the rows are in the WAL database, committed
    with sqlite3.connect(data / "outbox.sqlite3") as conn:
        stored = {row[0] for row in conn.execute("SELECT idempotency_key FROM outbox")}
    assert stored == set(keys)
    second = start_cos(data_dir=data)
    token = login(second.url)
    items = httpx.get(f"{second.url}/v1/evidence", headers=bearer(token)).json()["items"]
    assert {i["idempotency_key"] for i in items} == set(keys)
    assert all(i["state"] == "pending" for i in items)
    replay = post(second.url, token, keys[0], bodies[keys[0]])
    assert replay.status_code == 202 and replay.headers["idempotent-replayed"] == "true"
    health = httpx.get(f"{second.url}/healthz").json()
    assert health["outbox_depth"] == 5 and health["mode"] == "standalone" and health["status"] == "ok"


def test_a_fresh_accept_costs_one_group_commit_and_a_replay_none(start_cos) -> None:
    """One fsync wait per accepted write (issue 16): the key's in-flight state lives in memory and the
    replay/mismatch check is a read of the ledger, so the row with its completed ledger record is the
    only commit. Before, a committed in-flight marker made every fresh accept two commits."""
    cos = start_cos()
    token, n = cos.token(), 5
    keys = [new_key() for _ in range(n)]
    bodies = {k: json.dumps(evidence_doc()).encode() for k in keys}
    before = scrape(cos.url, "cos_outbox_commits_total")
    for k in keys:
        assert post(cos.url, token, k, bodies[k]).status_code == 202
    commits = scrape(cos.url, "cos_outbox_commits_total") - before
    assert commits == n, f"{n} sequential accepts took {commits} commits ({commits / n:g} per accept)"
    assert scrape(cos.url, "cos_outbox_rows_committed_total") == n
    replay = post(cos.url, token, keys[0], bodies[keys[0]])
    assert replay.status_code == 202 and replay.headers["idempotent-replayed"] == "true"
    reused = post(cos.url, token, keys[0], json.dumps(evidence_doc()).encode())
    assert reused.status_code == 422 and reused.json()["reason"] == "idempotency_key_reused"
    assert scrape(cos.url, "cos_outbox_commits_total") - before == n  # answering them wrote nothing


def test_concurrent_submissions_share_commits_and_metrics_count_them(start_cos) -> None:
    """Group commit: each submission is one write (row + ledger record); serially each is its own
    commit (fsync), a burst of concurrent submissions shares them (seam/group_commit.py)."""
    cos = start_cos()
    token, burst = cos.token(), 100
    for _ in range(3):
        assert post(cos.url, token, new_key(), json.dumps(evidence_doc()).encode()).status_code == 202
    assert scrape(cos.url, "cos_outbox_rows_committed_total") == 3
    assert scrape(cos.url, "cos_outbox_writes_committed_total") == 3
    assert scrape(cos.url, "cos_outbox_commits_total") == 3  # nothing to share: one fsync per write

    async def submit_all() -> list[int]:
        limits = httpx.Limits(max_connections=burst)
        async with httpx.AsyncClient(base_url=cos.url, headers=bearer(token), limits=limits, timeout=30) as c:
            answers = await asyncio.gather(
                *(
                    c.post("/v1/evidence", json=evidence_doc(), headers={"Idempotency-Key": new_key()})
                    for _ in range(burst)
                )
            )
        return [r.status_code for r in answers]

    assert asyncio.run(submit_all()) == [202] * burst
    rows = scrape(cos.url, "cos_outbox_rows_committed_total") - 3
    writes = scrape(cos.url, "cos_outbox_writes_committed_total") - 3
    commits = scrape(cos.url, "cos_outbox_commits_total") - 3
    assert rows == burst and writes == burst
    assert commits < writes, f"{burst} concurrent submissions took {commits} commits for {writes} writes"
    assert httpx.get(f"{cos.url}/healthz").json()["outbox_depth"] == burst + 3
