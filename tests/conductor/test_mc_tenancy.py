"""Idempotency keys are scoped per client at MC (issue 13, tenancy).

Before: a second client reusing another client's key got the first client's
record as a "replay", and its own evidence was never stored.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from mc_helpers import ADMIN, BASE, BothListeners, bearer, evidence_doc, get_token, post_evidence
from starlette.testclient import TestClient

from conductor.app import create_app
from conductor.settings import Settings


def other_client_token(client: TestClient, client_id: str = "other-tenant") -> str:
    r = client.post(
        "/admin/tokens", json={"client_id": client_id, "scopes": ["evidence:write"]}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_a_second_client_reusing_a_key_gets_its_own_record(client: TestClient, token: str) -> None:
    mine, theirs = evidence_doc("2026.11.1"), evidence_doc("2026.11.2")
    first = post_evidence(client, token, "shared-key", mine)
    other = other_client_token(client)
    second = post_evidence(client, other, "shared-key", theirs)
    assert first.status_code == 201 and second.status_code == 201, second.text
    assert "idempotent-replayed" not in second.headers
    assert second.json()["evidence_id"] != first.json()["evidence_id"]
    stored = client.get(f"/v1/evidence/{second.json()['evidence_id']}", headers=bearer(other)).json()
    assert stored["evidence"] == theirs and stored["client_id"] == "other-tenant"
    ledger = client.get("/admin/evidence", headers=ADMIN).json()
    assert ledger["total"] == 2


def test_each_client_replays_its_own_record(client: TestClient, token: str) -> None:
    other = other_client_token(client)
    first = post_evidence(client, token, "k-1", evidence_doc("a"))
    second = post_evidence(client, other, "k-1", evidence_doc("a"))  # same body, other tenant
    assert second.status_code == 201 and "idempotent-replayed" not in second.headers
    again = post_evidence(client, other, "k-1", evidence_doc("a"))
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["evidence_id"] == second.json()["evidence_id"] != first.json()["evidence_id"]
    mismatch = post_evidence(client, token, "k-1", evidence_doc("changed"))
    assert mismatch.status_code == 422


def test_graphql_keys_are_scoped_the_same_way(client: TestClient, token: str) -> None:
    other = other_client_token(client)
    post_evidence(client, token, "g-shared", evidence_doc("mine"))
    mutation = (
        'mutation($i: EvidenceInput!) { publishEvidence(input: $i, idempotencyKey: "g-shared")'
        " { evidenceOk replayed error { reason } } }"
    )
    doc = evidence_doc("theirs")
    gql_input = {k: v for k, v in doc.items() if k != "produced_at"} | {"producedAt": doc["produced_at"]}
    r = client.post(
        "/graphql", json={"query": mutation, "variables": {"i": gql_input}}, headers=bearer(other)
    )
    assert r.json()["data"]["publishEvidence"] == {"evidenceOk": True, "replayed": False, "error": None}


OLD_SCHEMA = """
CREATE TABLE idempotency (key TEXT PRIMARY KEY, body_digest TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'done')), status INTEGER, response TEXT,
    started_at REAL NOT NULL);
CREATE TABLE evidence (id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, client_id TEXT NOT NULL,
    digest TEXT NOT NULL, received_at TEXT NOT NULL, api TEXT NOT NULL, document TEXT NOT NULL,
    replays INTEGER NOT NULL DEFAULT 0);
"""


def test_a_database_from_before_the_fix_is_migrated(tmp_path: Path) -> None:
    """Keys stored unscoped still replay for their client after an upgrade, and no longer block others."""
    data_dir = tmp_path / "mc"
    data_dir.mkdir()
    doc = evidence_doc("old")
    with TestClient(BothListeners(create_app(Settings(data_dir=data_dir))), base_url=BASE) as c:
        first = post_evidence(c, get_token(c), "old-key", doc)
        assert first.status_code == 201
    conn = sqlite3.connect(data_dir / "conductor.db")
    rows = {
        "evidence": conn.execute("SELECT * FROM evidence").fetchall(),
        "idempotency": conn.execute("SELECT * FROM idempotency").fetchall(),
    }
    conn.executescript("DROP TABLE evidence; DROP TABLE idempotency;" + OLD_SCHEMA)
    conn.executemany("INSERT INTO evidence VALUES (?,?,?,?,?,?,?,?)", rows["evidence"])
    conn.executemany(
        "INSERT INTO idempotency VALUES (?,?,?,?,?,?)",
        [("old-key", *row[1:]) for row in rows["idempotency"]],  # the key as it was stored, unscoped
    )
    conn.commit()
    conn.close()
    with TestClient(BothListeners(create_app(Settings(data_dir=data_dir))), base_url=BASE) as c:
        replay = post_evidence(c, get_token(c), "old-key", doc)
        assert replay.headers.get("idempotent-replayed") == "true", replay.text
        assert replay.json()["evidence_id"] == first.json()["evidence_id"]
        fresh = post_evidence(c, other_client_token(c), "old-key", evidence_doc("new"))
        assert fresh.status_code == 201 and "idempotent-replayed" not in fresh.headers
        assert json.loads(c.get("/admin/evidence", headers=ADMIN).text)["total"] == 2
