"""Login and bearer tokens: who may call COS, and how a refusal looks on the wire."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from cos_helpers import QA, bearer, evidence_doc, login

from companyos import auth
from seam import keys
from seam.tokens import TokenIssuer

PROTECTED = [
    ("POST", "/v1/authorize", {"subject": {"user": "qa", "roles": ["developer"]}, "action": "read"}),
    ("POST", "/v1/evidence", evidence_doc()),
    ("GET", "/v1/evidence", None),
    ("GET", "/v1/evidence/anything", None),
]


def test_login_issues_a_short_lived_eddsa_token(standalone) -> None:
    r = httpx.post(f"{standalone.url}/v1/login", json={"username": QA[0], "password": QA[1]})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 900
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "EdDSA"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "qa" and claims["iss"] == "companyos"
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "creds",
    [{"username": "qa", "password": "S3cret-Guess-1"}, {"username": "nobody", "password": "qa-dev-password"}],
)
def test_bad_credentials_are_401_with_a_bearer_challenge_and_no_secret(standalone, creds) -> None:
    r = httpx.post(f"{standalone.url}/v1/login", json=creds)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="companyos"'
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["reason"] == "invalid_credentials"
    assert creds["password"] not in r.text


def test_malformed_login_is_400(standalone) -> None:
    r = httpx.post(
        f"{standalone.url}/v1/login", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["reason"] == "malformed_json"
    r = httpx.post(f"{standalone.url}/v1/login", json={"username": "qa"})
    assert r.status_code == 400 and r.json()["reason"] == "invalid_request"


def test_requested_ttl_shortens_but_never_extends(standalone) -> None:
    short = httpx.post(f"{standalone.url}/v1/login", json={"username": "qa", "password": QA[1], "ttl_s": 1})
    assert short.json()["expires_in"] == 1
    long = httpx.post(
        f"{standalone.url}/v1/login", json={"username": "qa", "password": QA[1], "ttl_s": 99999}
    )
    assert long.json()["expires_in"] == standalone.settings.token_lifetime_s


def _forged() -> str:
    now = int(time.time())
    claims = {"iss": "companyos", "aud": "companyos", "sub": "qa", "iat": now, "exp": now + 300, "scope": "x"}
    return jwt.encode(claims, keys.generate(), algorithm="EdDSA")


def _expired(standalone) -> str:
    key = keys.load_or_create(standalone.settings.data_dir / auth.KEY_FILE)  # COS's own key: a real token
    token, _ = TokenIssuer(key, auth.ISSUER, auth.AUDIENCE).issue("qa", auth.USER_SCOPES, lifetime_s=-5)
    return token


@pytest.mark.parametrize("method,path,body", PROTECTED)
@pytest.mark.parametrize("kind", ["missing", "forged", "expired", "garbage"])
def test_protected_endpoints_reject_bad_tokens(standalone, method, path, body, kind) -> None:
    token = {"missing": None, "forged": _forged(), "expired": _expired(standalone), "garbage": "abc.def"}[
        kind
    ]
    headers = {"Idempotency-Key": "k-1", **(bearer(token) if token else {})}
    r = httpx.request(method, f"{standalone.url}{path}", json=body, headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith('Bearer realm="companyos"')
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    expected = {"missing": "missing_token", "expired": "expired_token"}.get(kind, "invalid_token")
    assert r.json()["reason"] == expected
    if token:
        assert token not in r.text


def test_a_short_lived_token_expires(standalone) -> None:
    # JWT times are whole seconds (iat/exp floored): a 1 s token may expire milliseconds after issue,
    # so the shortest token this test can rely on for one request is 2 s (it lives (1, 2] s).
    r = httpx.post(f"{standalone.url}/v1/login", json={"username": "qa", "password": QA[1], "ttl_s": 2})
    token = r.json()["access_token"]
    doc = {"subject": {"user": "qa", "roles": ["viewer"]}, "action": "read"}
    assert httpx.post(f"{standalone.url}/v1/authorize", json=doc, headers=bearer(token)).status_code == 200
    deadline = time.monotonic() + 5
    status = 200
    while status == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        status = httpx.post(f"{standalone.url}/v1/authorize", json=doc, headers=bearer(token)).status_code
    assert status == 401


def test_tokens_survive_a_restart_on_the_same_data_dir(start_cos, tmp_path) -> None:
    first = start_cos(data_dir=tmp_path / "same")
    token = login(first.url)
    first.stop()
    second = start_cos(data_dir=tmp_path / "same")
    doc = {"subject": {"user": "qa", "roles": ["viewer"]}, "action": "read"}
    assert httpx.post(f"{second.url}/v1/authorize", json=doc, headers=bearer(token)).status_code == 200


def test_login_without_www_authenticate_mutation(start_cos) -> None:
    cos = start_cos(seam_mutations=frozenset({"cos.login-no-www-authenticate"}))
    r = httpx.post(f"{cos.url}/v1/login", json={"username": "qa", "password": "nope"})
    assert r.status_code == 401 and "www-authenticate" not in r.headers
