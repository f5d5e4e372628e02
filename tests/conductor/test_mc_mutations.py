"""Each `mc.*` seam mutation breaks exactly the promise it names (docs/mutations.md).

For every mutation, a probe asks "is the promise kept?": it must say yes on a
clean MC and no on an MC started with that mutation — so the probe can fail,
and the mutation really changes behaviour.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from mc_helpers import (
    ADMIN,
    BASE,
    CREDENTIALS,
    PACK,
    AppFactory,
    b64_sha256,
    bearer,
    content_digest,
    evidence_doc,
    get_token,
    post_evidence,
)
from starlette.testclient import TestClient

from conductor import mutations

PACK_URL = f"/v1/policy/packs/{PACK}"


def _pack(c: TestClient) -> httpx.Response:
    return c.get(PACK_URL, headers=bearer(get_token(c, "policy:read")))


def etag_present(c: TestClient) -> bool:
    return "etag" in _pack(c).headers


def etag_strong(c: TestClient) -> bool:
    return not _pack(c).headers["etag"].startswith("W/")


def content_digest_alg(c: TestClient) -> bool:
    return _pack(c).headers["content-digest"].startswith("sha-256=:")


def content_digest_value(c: TestClient) -> bool:
    r = _pack(c)
    return r.headers["content-digest"].split("=", 1)[1] == f":{b64_sha256(r.content)}:"


def answers_304(c: TestClient) -> bool:
    read = bearer(get_token(c, "policy:read"))
    etag = f'"sha256-{hashlib.sha256(_pack(c).content).hexdigest()}"'
    r = c.get(PACK_URL, headers={**read, "If-None-Match": etag})
    return r.status_code == 304 and r.content == b""


def evidence_201(c: TestClient) -> bool:
    return post_evidence(c, get_token(c), "k", evidence_doc()).status_code == 201


def evidence_field_name(c: TestClient) -> bool:
    return "evidence_id" in post_evidence(c, get_token(c), "k", evidence_doc()).json()


def scope_checked(c: TestClient) -> bool:
    return post_evidence(c, get_token(c, "policy:read"), "k", evidence_doc()).status_code == 403


def replay_same_id(c: TestClient) -> bool:
    tok = get_token(c)
    first = post_evidence(c, tok, "k", evidence_doc()).json()
    again = post_evidence(c, tok, "k", evidence_doc()).json()
    return first == again


def replay_header(c: TestClient) -> bool:
    tok = get_token(c)
    post_evidence(c, tok, "k", evidence_doc())
    return post_evidence(c, tok, "k", evidence_doc()).headers.get("idempotent-replayed") == "true"


def mismatch_422(c: TestClient) -> bool:
    tok = get_token(c)
    post_evidence(c, tok, "k", evidence_doc())
    return post_evidence(c, tok, "k", evidence_doc(release="other")).status_code == 422


def token_field_name(c: TestClient) -> bool:
    return "access_token" in c.post("/v1/tokens", data=CREDENTIALS).json()


def problem_media_type(c: TestClient) -> bool:
    r = c.get("/v1/policy/packs/missing", headers=bearer(get_token(c, "policy:read")))
    return r.headers["content-type"] == "application/problem+json"


def graphql_evidence_ok(c: TestClient) -> bool:
    doc = evidence_doc()
    gql_input = {**{k: v for k, v in doc.items() if k != "produced_at"}, "producedAt": doc["produced_at"]}
    query = (
        "mutation($input: EvidenceInput!, $key: String!) {"
        " publishEvidence(input: $input, idempotencyKey: $key) { evidenceOk evidenceId } }"
    )
    r = c.post(
        "/graphql",
        json={"query": query, "variables": {"input": gql_input, "key": "g"}},
        headers=bearer(get_token(c)),
    )
    data = r.json().get("data") or {}
    return r.status_code == 200 and (data.get("publishEvidence") or {}).get("evidenceOk") is True


def digest_checked(c: TestClient) -> bool:
    raw = json.dumps(evidence_doc()).encode()
    r = post_evidence(c, get_token(c), "k", body=raw, digest=content_digest(b"something else"))
    return r.status_code == 400


def stored_once_by_digest(c: TestClient) -> bool:
    """Behavioural: MC holds one record per document (counted by digest, not by key)."""
    stored = post_evidence(c, get_token(c), "k", evidence_doc()).json()
    items = c.get("/admin/evidence", headers=ADMIN).json()["items"]
    return [i["digest"] for i in items].count(stored["digest"]) == 1


def _attestation(c: TestClient) -> httpx.Response:
    return c.get(f"{PACK_URL}/attestation", headers=bearer(get_token(c, "policy:read")))


def _statement_of_served_pack(c: TestClient) -> dict | None:
    """The attestation's statement if it verifies under MC's key and attests the served bytes."""
    from seam import dsse, keys

    key = keys.load_public(c.get("/v1/keys/signing.pem").text)
    try:
        digest_hex = hashlib.sha256(_pack(c).content).hexdigest()
        return dsse.verify_pack(_attestation(c).json(), key, PACK, digest_hex)
    except dsse.AttestationError:
        return None


def attestation_verifies(c: TestClient) -> bool:
    return _statement_of_served_pack(c) is not None


def attestation_etag_of_body(c: TestClient) -> bool:
    r = _attestation(c)
    return r.headers["etag"] == f'"sha256-{hashlib.sha256(r.content).hexdigest()}"'


def attestation_content_digest_of_body(c: TestClient) -> bool:
    r = _attestation(c)
    return r.headers["content-digest"] == content_digest(r.content)


def attestation_json(c: TestClient) -> bool:
    return _attestation(c).headers["content-type"].startswith("application/json")


def pack_gzip(c: TestClient) -> bool:
    return _pack(c).headers["content-type"] == "application/gzip"


def pack_revision_header(c: TestClient) -> bool:
    return "x-pack-revision" in _pack(c).headers


def _claims(token: str) -> dict:
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


def token_lifetime(c: TestClient) -> bool:
    body = c.post("/v1/tokens", data={**CREDENTIALS, "scope": "policy:read"}).json()
    claims = _claims(body["access_token"])
    return body["expires_in"] <= 900 and claims["exp"] - claims["iat"] == body["expires_in"]


def token_scope_exact(c: TestClient) -> bool:
    body = c.post("/v1/tokens", data={**CREDENTIALS, "scope": "policy:read"}).json()
    return body["scope"] == "policy:read" == _claims(body["access_token"])["scope"]


def token_no_store(c: TestClient) -> bool:
    return c.post("/v1/tokens", data=CREDENTIALS).headers.get("cache-control") == "no-store"


PROBES: dict[str, Callable[[TestClient], bool]] = {
    mutations.ETAG_DROPPED: etag_present,
    mutations.ETAG_WEAK: etag_strong,
    mutations.CONTENT_DIGEST_WRONG_ALG: content_digest_alg,
    mutations.CONTENT_DIGEST_WRONG_VALUE: content_digest_value,
    mutations.NO_304: answers_304,
    mutations.EVIDENCE_202: evidence_201,
    mutations.EVIDENCE_FIELD_RENAMED: evidence_field_name,
    mutations.SCOPE_CHECK_REMOVED: scope_checked,
    mutations.REPLAY_NEW_ID: replay_same_id,
    mutations.REPLAY_HEADER_DROPPED: replay_header,
    mutations.MISMATCH_409: mismatch_422,
    mutations.TOKEN_FIELD_RENAMED: token_field_name,
    mutations.PROBLEM_AS_JSON: problem_media_type,
    mutations.GRAPHQL_EVIDENCEOK_RENAMED: graphql_evidence_ok,
    mutations.DIGEST_MISMATCH_ACCEPTED: digest_checked,
    mutations.EVIDENCE_STORED_TWICE: stored_once_by_digest,
    mutations.ATTESTATION_PAYLOAD_TYPE: attestation_verifies,
    mutations.ATTESTATION_SUBJECT_DIGEST: attestation_verifies,
    mutations.ATTESTATION_SUBJECT_NAME: attestation_verifies,
    mutations.ATTESTATION_SIGNATURE_INVALID: attestation_verifies,
    mutations.ATTESTATION_UNSIGNED: attestation_verifies,
    mutations.ATTESTATION_ETAG_OTHER_BYTES: attestation_etag_of_body,
    mutations.ATTESTATION_CONTENT_DIGEST_WRONG: attestation_content_digest_of_body,
    mutations.ATTESTATION_MEDIA_TYPE: attestation_json,
    mutations.PACK_MEDIA_TYPE: pack_gzip,
    mutations.PACK_REVISION_HEADER_DROPPED: pack_revision_header,
    mutations.TOKEN_LIFETIME_TOO_LONG: token_lifetime,
    mutations.TOKEN_EXP_BEYOND_EXPIRES_IN: token_lifetime,
    mutations.TOKEN_SCOPE_WIDENED: token_scope_exact,
    mutations.TOKEN_CACHE_CONTROL_DROPPED: token_no_store,
}


def test_every_documented_mc_mutation_has_a_probe() -> None:
    assert set(PROBES) == mutations.KNOWN
    with open(Path(__file__).parents[2] / "docs" / "mutations.md", encoding="utf-8") as fh:
        documented = {line.split("`")[1] for line in fh if line.startswith("| `mc.")}
    assert documented == mutations.KNOWN


@pytest.mark.parametrize("name", sorted(PROBES))
def test_mutation_breaks_its_promise(make_app: AppFactory, tmp_path: Path, name: str) -> None:
    probe = PROBES[name]
    with TestClient(make_app(tmp_path / "clean"), base_url=BASE) as clean:
        assert probe(clean), f"promise broken without {name}"
    with TestClient(make_app(tmp_path / "mutated", mutations=frozenset({name})), base_url=BASE) as mutated:
        assert not probe(mutated), f"{name} did not change the behaviour it names"
