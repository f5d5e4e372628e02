"""The ledger by query and by page (issue 16, "Cost that grows with history").

A ledger check asks for the records of what a scenario submitted (`POST /admin/evidence/query`),
the listing is paged with a since-cursor, and both are index searches in MC's store — so a check
costs the same on a sandbox holding a million old records (numbers: docs/benchmarks-ledger.md,
`python -m conductor.tools.ledger_cost`). Here: answers, pages, bounds, and the query plans.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mc_helpers import ADMIN, canonical_sha256, evidence_doc, post_evidence
from starlette.testclient import TestClient

from conductor.db import Database
from conductor.evidence_store import EvidenceStore
from conductor.tools.ledger_cost import digest_of, key_of, seed


def store_one(client: TestClient, token: str, key: str, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = doc or evidence_doc(release=key)
    r = post_evidence(client, token, key, doc)
    assert r.status_code == 201, r.text
    return doc


def query(client: TestClient, **body: Any) -> Any:
    return client.post("/admin/evidence/query", headers=ADMIN, json=body)


def test_query_answers_the_records_of_these_keys_or_digests(client: TestClient, token: str) -> None:
    docs = {f"k-{i}": store_one(client, token, f"k-{i}") for i in range(6)}
    again = store_one(client, token, "k-again", docs["k-3"])  # the k-3 document stored a second time

    r = query(client, keys=["k-1", "k-nothing"], digests=[canonical_sha256(again)])
    assert r.status_code == 200, r.text
    body = r.json()
    assert [i["idempotency_key"] for i in body["items"]] == ["k-1", "k-3", "k-again"]  # store order
    assert body["next"] is None
    assert {i["digest"] for i in body["items"][1:]} == {canonical_sha256(again)}
    item = body["items"][0]
    assert item["evidence"] == docs["k-1"] and item["receipt"]["state"] in ("pending", "delivered")
    assert [int(i["cursor"]) for i in body["items"]] == sorted(int(i["cursor"]) for i in body["items"])


def test_query_pages_follow_next_without_gaps_or_repeats(client: TestClient, token: str) -> None:
    keys = [f"q-{i}" for i in range(7)]
    for key in keys:
        store_one(client, token, key)
    seen, after = [], None
    for _ in range(10):
        body = query(client, keys=keys, limit=3, after=after).json()
        seen += [i["idempotency_key"] for i in body["items"]]
        after = body["next"]
        if after is None:
            break
    assert seen == keys


def test_listing_walk_misses_nothing_that_arrives_meanwhile(client: TestClient, token: str) -> None:
    """A since-cursor walk while records keep arriving: each seen once, in store order, and the
    ones that arrived during the walk are found from the last item's cursor."""
    stored = [f"w-{i}" for i in range(10)]
    for key in stored:
        store_one(client, token, key)
    seen: list[str] = []
    after = "0"
    for round_ in range(20):
        page = client.get("/admin/evidence", headers=ADMIN, params={"after": after, "limit": 4}).json()
        seen += [i["idempotency_key"] for i in page["items"]]
        if page["items"]:
            after = page["items"][-1]["cursor"]
        if round_ < 5:  # new records arrive while the walk goes on
            stored.append(f"late-{round_}")
            store_one(client, token, stored[-1])
        elif page["next"] is None and not page["items"]:
            break
    assert seen == stored
    assert page["total"] is None and page["distinct_keys"] is None  # counted on the first page only
    first = client.get("/admin/evidence", headers=ADMIN, params={"limit": 1}).json()
    assert first["total"] == len(stored) and first["distinct_keys"] == len(stored)


def test_listing_counts_the_whole_store_and_this_pages_keys(client: TestClient, token: str) -> None:
    for i in range(5):
        store_one(client, token, f"c-{i}")
    page = client.get("/admin/evidence", headers=ADMIN, params={"limit": 2}).json()
    assert page["total"] == 5 and page["distinct_keys"] == 5
    assert page["by_key"] == {"c-0": 1, "c-1": 1}
    assert page["next"] == page["items"][-1]["cursor"]
    rest = client.get("/admin/evidence", headers=ADMIN, params={"after": page["next"]}).json()
    assert [i["idempotency_key"] for i in rest["items"]] == ["c-2", "c-3", "c-4"] and rest["next"] is None


BAD_QUERIES = [
    ({}, "keys"),
    ({"keys": [], "digests": []}, "keys"),
    ({"keys": [f"k{i}" for i in range(1001)]}, "keys"),
    ({"digests": ["0" * 64] * 1001}, "digests"),
    ({"digests": ["ABC"]}, "digests"),
    ({"keys": ["has space"]}, "keys"),
    ({"keys": ["k"], "limit": 0}, "limit"),
    ({"keys": ["k"], "limit": 1001}, "limit"),
    ({"keys": ["k"], "limit": "5"}, "limit"),
    ({"keys": ["k"], "after": "-1"}, "after"),
    ({"keys": ["k"], "after": "abc"}, "after"),
    ({"keys": ["k"], "after": 5}, "after"),
    ({"keys": "k"}, "keys"),
    ({"keys": ["k"], "extra": 1}, "extra"),
]


@pytest.mark.parametrize(
    ("body", "field"), BAD_QUERIES, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_QUERIES)]
)
def test_bad_queries_get_a_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    r = query(client, **body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["reason"] == "invalid_request" and r.json()["field"] == field


@pytest.mark.parametrize(
    ("params", "reason", "field"),
    [
        ({"after": "x"}, "invalid_cursor", "after"),
        ({"after": "1" * 19}, "invalid_cursor", "after"),
        ({"limit": "0"}, "invalid_limit", "limit"),
        ({"limit": "1001"}, "invalid_limit", "limit"),
        ({"limit": "ten"}, "invalid_limit", "limit"),
        ({"limit": "99999999999999999999"}, "invalid_limit", "limit"),
    ],
)
def test_bad_listing_params_get_a_400_naming_them(
    client: TestClient, params: dict[str, str], reason: str, field: str
) -> None:
    r = client.get("/admin/evidence", headers=ADMIN, params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["reason"] == reason and r.json()["field"] == field


def test_query_body_is_json_and_needs_the_admin_token(client: TestClient) -> None:
    r = client.post("/admin/evidence/query", headers=ADMIN, content=b"keys=k")
    assert r.status_code == 415
    r = client.post(
        "/admin/evidence/query", headers={**ADMIN, "Content-Type": "application/json"}, content=b"{"
    )
    assert r.status_code == 400 and r.json()["reason"] == "malformed_json"
    assert client.post("/admin/evidence/query", json={"keys": ["k"]}).status_code == 401


# -- the plans: index searches, never a scan of the evidence table ---------------------------------
@pytest.fixture
def seeded(tmp_path: Path) -> EvidenceStore:
    """A store with 2 000 records written the way the cost tool seeds a million."""
    seed(tmp_path / "conductor.db", 2000)
    return EvidenceStore(Database(tmp_path / "conductor.db"))


def plans_of(store: EvidenceStore, call: Any) -> list[str]:
    """The EXPLAIN QUERY PLAN lines of every statement `call(store)` runs, and its answer."""
    db = store._db
    ran: list[tuple[str, tuple]] = []
    real = db.execute

    def recording(sql: str, params: tuple = ()) -> list[tuple]:
        ran.append((sql, params))
        return real(sql, params)

    db.execute = recording  # type: ignore[method-assign]
    try:
        call(store)
    finally:
        db.execute = real  # type: ignore[method-assign]
    assert ran, "the call ran no statement"
    return [row[3] for sql, params in ran for row in real("EXPLAIN QUERY PLAN " + sql, params)]


def test_the_ledger_query_is_two_index_searches(seeded: EvidenceStore) -> None:
    picks = [7, 1500, 1999]
    rows = seeded.matching([key_of(i) for i in picks], [digest_of(i) for i in picks], 0, 1000)
    assert [r.idempotency_key for _, r in rows] == [key_of(i) for i in picks]
    plan = plans_of(seeded, lambda s: s.matching([key_of(7)], [digest_of(1500)], 0, 1000))
    assert any("USING COVERING INDEX evidence_by_key (idempotency_key=?)" in p for p in plan), plan
    assert any("USING COVERING INDEX evidence_by_digest (digest=?)" in p for p in plan), plan
    assert any("SEARCH e USING INTEGER PRIMARY KEY (rowid=?)" in p for p in plan), plan
    assert not [p for p in plan if p.startswith("SCAN")], plan
    assert not [p for p in plan if "ORDER BY" in p], plan  # already in cursor order


def test_a_page_and_its_key_counts_are_searches(seeded: EvidenceStore) -> None:
    page = plans_of(seeded, lambda s: s.page(1000, 10))
    assert "SEARCH e USING INTEGER PRIMARY KEY (rowid>?)" in page and not [p for p in page if "SCAN" in p]
    counts = plans_of(seeded, lambda s: s.key_counts([key_of(1), key_of(2)]))
    assert counts == ["SEARCH evidence USING COVERING INDEX evidence_by_key (idempotency_key=?)"]
    totals = plans_of(seeded, lambda s: s.counts())  # a count reads the key index, never documents
    assert any("COVERING INDEX evidence_by_key" in p for p in totals) and "SCAN evidence" not in totals


def test_the_indexes_are_built_on_an_existing_store(tmp_path: Path) -> None:
    """A data dir from before the indexes (as `seed` writes it) gets them at MC's next start."""
    seed(tmp_path / "conductor.db", 10)
    conn = sqlite3.connect(tmp_path / "conductor.db")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "evidence_by_digest" not in names
    conn.close()
    EvidenceStore(Database(tmp_path / "conductor.db"))
    conn = sqlite3.connect(tmp_path / "conductor.db")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert {"evidence_by_digest", "evidence_by_key"} <= names
