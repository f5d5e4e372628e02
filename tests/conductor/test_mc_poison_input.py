"""Poison input at MC (issue 13): refused at the door with a reason, never a 500 later.

Each test sends what an outsider sent in the probe: non-finite numbers, lone
surrogates, 1000 nested arrays, a wrong Content-Type; and reads rows stored
before the door was strict, which must still read without a 500.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from mc_helpers import ADMIN, bearer, content_digest, evidence_doc, post_evidence
from starlette.testclient import TestClient

from conductor.evidence_store import EvidenceRecord

VALID = json.dumps(evidence_doc()).encode()
DEEP = b"[" * 1000 + b"]" * 1000


def _with_payload(raw_value: str) -> bytes:
    """An otherwise valid evidence body whose payload holds `raw_value` verbatim."""
    template = json.dumps({**evidence_doc(), "payload": {"x": "PLACEHOLDER"}})
    return template.replace('"PLACEHOLDER"', raw_value).encode()


POISON = {
    "NaN": ("NaN", "non_finite_number"),
    "Infinity": ("Infinity", "non_finite_number"),
    "-Infinity": ("-Infinity", "non_finite_number"),
    "1e999": ("1e999", "non_finite_number"),
    "lone surrogate": ('"\\ud800"', "invalid_unicode"),
    "lone surrogate key": ('{"\\udfff": 1}', "invalid_unicode"),
}


@pytest.mark.parametrize("name", sorted(POISON))
def test_rest_evidence_with_poison_is_refused_and_nothing_is_stored(
    client: TestClient, token: str, name: str
) -> None:
    literal, reason = POISON[name]
    r = post_evidence(client, token, f"poison-{len(literal)}-{reason}", body=_with_payload(literal))
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["reason"] == reason
    assert client.get("/admin/evidence", headers=ADMIN).json()["total"] == 0


def test_graphql_variables_with_poison_are_refused(client: TestClient, token: str) -> None:
    body = (
        b'{"query": "mutation($i: EvidenceInput!) { publishEvidence(input: $i, idempotencyKey: \\"g\\")'
        b' { evidenceOk } }", "variables": {"i": {"payload": {"x": NaN}}}}'
    )
    r = client.post("/graphql", content=body, headers={**bearer(token), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["reason"] == "non_finite_number", r.text


def test_graphql_literal_with_infinite_number_is_invalid_evidence(client: TestClient, token: str) -> None:
    """A float literal inside the query text never passes through the JSON parser."""
    query = (
        'mutation { publishEvidence(idempotencyKey: "lit", input: {release: "r", kind: "sbom",'
        f' subject: {{name: "a", digest: {{sha256: "{"a" * 64}"}}}}, producedAt: "2026-11-26T06:00:00Z",'
        " payload: {x: 1e999}}) { evidenceOk error { reason field } } }"
    )
    r = client.post("/graphql", json={"query": query}, headers=bearer(token))
    assert r.status_code == 200, r.text
    result = r.json()["data"]["publishEvidence"]
    assert result == {"evidenceOk": False, "error": {"reason": "invalid_evidence", "field": "payload"}}
    assert client.get("/admin/evidence", headers=ADMIN).json()["total"] == 0


def _store_raw(client: TestClient, evidence_id: str, key: str, document: dict[str, Any]) -> None:
    """Store a row the way MC did before the strict door (document serialised leniently)."""
    store = client.app.state.conductor.store  # type: ignore[attr-defined]
    record = EvidenceRecord(
        evidence_id=evidence_id,
        idempotency_key=key,
        client_id="companyos",
        digest="0" * 64,
        received_at="2026-11-26T06:00:00.000Z",
        api="rest",
        document=document,
    )
    store.store(record, 201, {"evidence_id": evidence_id}, b"{}")


def test_rows_stored_before_the_fix_still_read(client: TestClient, token: str) -> None:
    poison = {
        **evidence_doc(),
        "payload": {"nan": float("nan"), "inf": float("inf"), "s": "\ud800", "\udfff": 1},
    }
    _store_raw(client, "ev_old_poison", "old-poison", poison)
    deep_but_storable = json.loads(b"[" * 500 + b"]" * 500)  # what the lenient parser let through
    _store_raw(client, "ev_old_deep", "old-deep", {**evidence_doc(), "payload": {"d": deep_but_storable}})
    for evidence_id in ("ev_old_poison", "ev_old_deep"):
        one = client.get(f"/v1/evidence/{evidence_id}", headers=bearer(token))
        assert one.status_code == 200, one.text
        json.loads(one.content, parse_constant=pytest.fail)  # strict JSON out: no NaN/Infinity tokens
    payload = client.get("/v1/evidence/ev_old_poison", headers=bearer(token)).json()["evidence"]["payload"]
    assert payload == {"nan": None, "inf": None, "s": "\ufffd", "\ufffd": 1}
    listing = client.get("/admin/evidence", headers=ADMIN)
    assert listing.status_code == 200, listing.text
    assert listing.json()["total"] == 2


JSON_ENDPOINTS = [
    ("POST", "/v1/evidence", "token"),
    ("POST", "/graphql", "token"),
    ("POST", "/admin/tokens", "admin"),
    ("POST", "/admin/packs/policy-pack-v0/revisions", "admin"),
    ("PUT", "/admin/clients/companyos/callback", "admin"),
]


def _auth(kind: str, token: str) -> dict[str, str]:
    return dict(ADMIN) if kind == "admin" else {**bearer(token), "Idempotency-Key": "deep-1"}


@pytest.mark.parametrize(("method", "path", "auth"), JSON_ENDPOINTS)
def test_deep_nesting_is_a_clear_400_on_every_json_endpoint(
    client: TestClient, token: str, method: str, path: str, auth: str
) -> None:
    body = b'{"payload": ' + DEEP + b"}"
    headers = {
        **_auth(auth, token),
        "Content-Type": "application/json",
        "Content-Digest": content_digest(body),
    }
    r = client.request(method, path, content=body, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["reason"] == "nesting_too_deep"


def test_deep_nesting_in_a_json_token_request_is_a_400(client: TestClient) -> None:
    r = client.post("/v1/tokens", content=DEEP, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["reason"] == "invalid_request"  # an RFC 6749 error code, the why in the detail
    assert "deeper" in r.json()["detail"]


@pytest.mark.parametrize(("method", "path", "auth"), JSON_ENDPOINTS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_a_415_with_a_reason(
    client: TestClient, token: str, method: str, path: str, auth: str, content_type: str | None
) -> None:
    headers = {**_auth(auth, token), "Content-Digest": content_digest(VALID)}
    if content_type:
        headers["Content-Type"] = content_type
    r = client.request(method, path, content=VALID, headers=headers)
    assert r.status_code == 415, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["reason"] == "unsupported_media_type"
    assert client.get("/admin/evidence", headers=ADMIN).json()["total"] == 0


def test_json_with_a_charset_parameter_is_accepted(client: TestClient, token: str) -> None:
    headers = {
        **bearer(token),
        "Idempotency-Key": "charset-1",
        "Content-Type": "application/json; charset=utf-8",
        "Content-Digest": content_digest(VALID),
    }
    assert client.post("/v1/evidence", content=VALID, headers=headers).status_code == 201
