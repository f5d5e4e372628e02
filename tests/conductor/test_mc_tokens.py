"""POST /v1/tokens and the bearer checks every other /v1 route applies."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from mc_helpers import ADMIN, BASE, CREDENTIALS, PACK, AppFactory, bearer, get_token
from starlette.testclient import TestClient

from seam import keys


def public_key(client: TestClient) -> PublicKeyTypes:
    return load_pem_public_key(client.get("/v1/keys/signing.pem").content)


def test_form_credentials_issue_short_lived_eddsa_jwt(client: TestClient) -> None:
    r = client.post("/v1/tokens", data=CREDENTIALS)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "policy:read evidence:write"
    assert 0 < body["expires_in"] <= 900
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "EdDSA"
    claims = jwt.decode(
        body["access_token"], public_key(client), algorithms=["EdDSA"], audience="maestro-conductor"
    )
    assert claims["sub"] == "companyos"
    assert claims["exp"] - claims["iat"] <= 900
    assert claims["scope"] == "policy:read evidence:write"


def test_json_body_and_scope_subset(client: TestClient) -> None:
    r = client.post("/v1/tokens", json={**CREDENTIALS, "scope": "policy:read"})
    assert r.status_code == 200
    assert r.json()["scope"] == "policy:read"
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["scope"] == "policy:read"


def test_basic_client_authentication(client: TestClient) -> None:
    basic = base64.b64encode(b"companyos:companyos-dev-secret").decode()
    r = client.post(
        "/v1/tokens", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert r.status_code == 200


@pytest.mark.parametrize("member", ["client_id", "client_secret"])
def test_json_credentials_of_the_wrong_type_are_refused_even_with_basic(
    client: TestClient, member: str
) -> None:
    """Found by the fuzz stage: Basic auth made MC ignore a body member its document says is a string."""
    basic = base64.b64encode(b"companyos:companyos-dev-secret").decode()
    r = client.post(
        "/v1/tokens",
        json={"grant_type": "client_credentials", member: 5},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["reason"] == "invalid_request" and member in r.json()["detail"]


def test_token_ttl_setting_is_the_lifetime(make_app: AppFactory) -> None:
    with TestClient(make_app(token_ttl_s=120), base_url=BASE) as c:
        r = c.post("/v1/tokens", data=CREDENTIALS)
    assert r.json()["expires_in"] == 120


@pytest.mark.parametrize(
    ("form", "status", "reason"),
    [
        ({**CREDENTIALS, "client_secret": "wrong"}, 401, "invalid_client"),
        ({**CREDENTIALS, "client_id": "nobody"}, 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
        ({**CREDENTIALS, "scope": "policy:read admin:everything"}, 400, "invalid_scope"),
        ({**CREDENTIALS, "grant_type": "password"}, 400, "unsupported_grant_type"),
        ({k: v for k, v in CREDENTIALS.items() if k != "grant_type"}, 400, "invalid_request"),
    ],
)
def test_token_errors(client: TestClient, form: dict, status: int, reason: str) -> None:
    r = client.post("/v1/tokens", data=form)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["reason"] == reason
    assert "companyos-dev-secret" not in r.text and "wrong" not in r.text
    if status == 401:
        assert r.headers["www-authenticate"] == 'Basic realm="maestro-conductor"'


def test_scope_not_granted_to_client_is_invalid_scope(make_app: AppFactory) -> None:
    with TestClient(make_app(client_scopes=("policy:read",)), base_url=BASE) as c:
        r = c.post("/v1/tokens", data={**CREDENTIALS, "scope": "evidence:write"})
        assert r.status_code == 400 and r.json()["reason"] == "invalid_scope"
        ok = c.post("/v1/tokens", data=CREDENTIALS)
        assert ok.json()["scope"] == "policy:read"


def test_malformed_token_request_body(client: TestClient) -> None:
    r = client.post("/v1/tokens", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["reason"] == "invalid_request"
    r = client.post("/v1/tokens", content=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 400 and r.json()["reason"] == "invalid_request"


# -- bearer checks on protected routes ---------------------------------------------------------

PROTECTED = [
    ("GET", f"/v1/policy/packs/{PACK}", "policy:read"),
    ("HEAD", f"/v1/policy/packs/{PACK}", "policy:read"),
    ("GET", f"/v1/policy/packs/{PACK}/attestation", "policy:read"),
    ("POST", "/v1/evidence", "evidence:write"),
    ("GET", "/v1/evidence/ev_x", "evidence:write"),
    ("POST", "/graphql", "evidence:write"),
]


@pytest.mark.parametrize(("method", "path", "scope"), PROTECTED)
def test_missing_token_is_401_with_www_authenticate(
    client: TestClient, method: str, path: str, scope: str
) -> None:
    r = client.request(method, path)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="maestro-conductor", error="invalid_token"'
    if method != "HEAD":
        assert r.json()["reason"] == "missing_token"


@pytest.mark.parametrize(("method", "path", "scope"), PROTECTED)
def test_wrong_scope_is_403(client: TestClient, method: str, path: str, scope: str) -> None:
    other = "evidence:write" if scope == "policy:read" else "policy:read"
    r = client.request(method, path, headers=bearer(get_token(client, other)))
    assert r.status_code == 403
    if method != "HEAD":
        assert r.json()["reason"] == "insufficient_scope"
        assert r.headers["content-type"] == "application/problem+json"


def test_expired_token_is_401(client: TestClient) -> None:
    minted = client.post(
        "/admin/tokens",
        json={"client_id": "companyos", "scopes": ["policy:read"], "lifetime_s": 0},
        headers=ADMIN,
    )
    assert minted.status_code == 200
    r = client.get(f"/v1/policy/packs/{PACK}", headers=bearer(minted.json()["access_token"]))
    assert r.status_code == 401
    assert r.json()["reason"] == "expired_token"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_garbage_and_foreign_tokens_are_401(client: TestClient) -> None:
    r = client.get(f"/v1/policy/packs/{PACK}", headers=bearer("not.a.jwt"))
    assert r.status_code == 401 and r.json()["reason"] == "invalid_token"
    now = int(time.time())
    foreign = jwt.encode(
        {
            "iss": "maestro-conductor",
            "aud": "maestro-conductor",
            "sub": "companyos",
            "iat": now,
            "exp": now + 60,
            "scope": "policy:read",
        },
        keys.generate(),
        algorithm="EdDSA",
    )
    r = client.get(f"/v1/policy/packs/{PACK}", headers=bearer(foreign))
    assert r.status_code == 401 and r.json()["reason"] == "invalid_token"


def test_keys_are_public_and_agree(client: TestClient) -> None:
    pem = client.get("/v1/keys/signing.pem")
    assert pem.status_code == 200
    assert pem.headers["content-type"].startswith("application/x-pem-file")
    assert pem.text.startswith("-----BEGIN PUBLIC KEY-----")
    keyset = client.get("/v1/keys").json()["keys"]
    assert len(keyset) == 1
    assert keyset[0]["alg"] == "Ed25519"
    assert keyset[0]["public_key_pem"] == pem.text
    assert keyset[0]["kid"] == pem.headers["x-key-id"]
    assert json.dumps(keyset)  # plain JSON, no secrets
    assert "PRIVATE" not in pem.text
