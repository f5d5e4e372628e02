"""POST /graphql publishEvidence: same rules and same storage as REST."""

from __future__ import annotations

import json
from typing import Any

from mc_helpers import ADMIN, bearer, canonical_sha256, evidence_doc, get_token, post_evidence
from starlette.testclient import TestClient

MUTATION = """
mutation($input: EvidenceInput!, $key: String!) {
  publishEvidence(input: $input, idempotencyKey: $key) {
    evidenceOk evidenceId replayed error { reason field message }
  }
}
"""


def gql_input(doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k != "produced_at"}
    out["producedAt"] = doc["produced_at"]
    return out


def publish(client: TestClient, token: str, key: str, doc: dict[str, Any]) -> dict[str, Any]:
    r = client.post(
        "/graphql",
        json={"query": MUTATION, "variables": {"input": gql_input(doc), "key": key}},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    assert "errors" not in r.json(), r.text
    return r.json()["data"]["publishEvidence"]


def test_publish_then_replay(client: TestClient, token: str) -> None:
    first = publish(client, token, "g-1", evidence_doc())
    assert first["evidenceOk"] is True
    assert first["replayed"] is False
    assert first["error"] is None
    assert first["evidenceId"].startswith("ev_")
    again = publish(client, token, "g-1", evidence_doc())
    assert again == {**first, "replayed": True}
    record = client.get(f"/v1/evidence/{first['evidenceId']}", headers=bearer(token)).json()
    assert record["evidence"] == evidence_doc()
    assert record["digest"] == canonical_sha256(evidence_doc())
    assert record["api"] == "graphql"


def test_rest_then_graphql_under_one_key_is_a_replay(client: TestClient, token: str) -> None:
    rest = post_evidence(client, token, "shared", evidence_doc())
    assert rest.status_code == 201
    gql = publish(client, token, "shared", evidence_doc())
    assert gql["evidenceOk"] is True and gql["replayed"] is True
    assert gql["evidenceId"] == rest.json()["evidence_id"]
    again = post_evidence(client, token, "shared", evidence_doc())
    assert again.headers["idempotent-replayed"] == "true"
    assert client.get("/admin/evidence", headers=ADMIN).json()["total"] == 1


def test_graphql_then_rest_is_a_replay(client: TestClient, token: str) -> None:
    gql = publish(client, token, "shared-2", evidence_doc())
    rest = post_evidence(client, token, "shared-2", evidence_doc())
    assert rest.status_code == 201
    assert rest.headers["idempotent-replayed"] == "true"
    assert rest.json()["evidence_id"] == gql["evidenceId"]


def test_mismatch_and_invalid_input_are_errors_in_data(client: TestClient, token: str) -> None:
    publish(client, token, "g-m", evidence_doc())
    reused = publish(client, token, "g-m", evidence_doc(release="other"))
    assert reused["evidenceOk"] is False
    assert reused["error"]["reason"] == "idempotency_key_reused"
    bad_time = publish(client, token, "g-bad", evidence_doc(produced_at="soon"))
    assert bad_time["evidenceOk"] is False
    assert bad_time["error"]["reason"] == "invalid_evidence"
    assert bad_time["error"]["field"] == "producedAt"
    bad_digest = publish(
        client, token, "g-bad2", evidence_doc(subject={"name": "api", "digest": {"sha256": "no"}})
    )
    assert bad_digest["error"]["field"] == "subject.digest.sha256"
    no_key = publish(client, token, "", evidence_doc())
    assert no_key["error"]["reason"] == "missing_idempotency_key"
    assert client.get("/admin/evidence", headers=ADMIN).json()["total"] == 1


def test_auth_is_http_status(client: TestClient) -> None:
    body = {"query": MUTATION, "variables": {"input": gql_input(evidence_doc()), "key": "k"}}
    missing = client.post("/graphql", json=body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith('Bearer realm="maestro-conductor"')
    wrong = client.post("/graphql", json=body, headers=bearer(get_token(client, "policy:read")))
    assert wrong.status_code == 403
    assert wrong.json()["reason"] == "insufficient_scope"


def test_invalid_documents(client: TestClient, token: str) -> None:
    r = client.post("/graphql", json={"query": "mutation { nope }"}, headers=bearer(token))
    assert r.status_code == 400
    assert r.json()["errors"]
    json_headers = {**bearer(token), "Content-Type": "application/json"}
    r = client.post("/graphql", content=b"{oops", headers=json_headers)
    assert r.status_code == 400 and r.json()["reason"] == "malformed_json"
    big = json.dumps({"query": "x" * (65 * 1024)}).encode()
    r = client.post("/graphql", content=big, headers=json_headers)
    assert r.status_code == 413
