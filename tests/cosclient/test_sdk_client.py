"""The COS client SDK against a real (in-process) COS, and its plumbing against a mock transport."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from cosclient import CompanyOSClient, Reply
from seam import digest

DOC = {
    "release": "2026.11.3",
    "kind": "sbom",
    "subject": {"name": "api", "digest": {"sha256": "c" * 64}},
    "produced_at": "2026-11-26T06:00:00Z",
}


@pytest.fixture
def cos(cos_url: str):
    with CompanyOSClient(cos_url) as client:
        yield client


@pytest.fixture
def logged_in(cos: CompanyOSClient) -> CompanyOSClient:
    assert cos.login("qa", "qa-dev-password").status == 200
    return cos


def test_login_stores_the_token_and_failures_are_replies_not_exceptions(cos) -> None:
    bad = cos.login("qa", "nope")
    assert isinstance(bad, Reply) and bad.status == 401 and cos.token is None
    assert bad.reason == "invalid_credentials" and bad.headers["WWW-Authenticate"].startswith("Bearer")
    good = cos.login("qa", "qa-dev-password")
    assert good.status == 200 and cos.token == good.body["access_token"]
    short = cos.login("qa", "qa-dev-password", ttl_s=1)
    assert short.body["expires_in"] == 1


def test_authorize_with_stored_explicit_and_no_token(logged_in) -> None:
    r = logged_in.authorize({"user": "qa", "roles": ["developer"]}, "read", resource={"release": "x"})
    assert r.ok and r.body["allow"] is True and r.body["policy"]["pack"] == "policy-pack-v0"
    assert logged_in.authorize({"user": "qa", "roles": ["viewer"]}, "deploy").body["allow"] is False
    assert logged_in.authorize({"user": "qa", "roles": []}, "read", token="").status == 401  # none sent
    assert logged_in.authorize({"user": "qa", "roles": []}, "read", token="forged").status == 401


def test_attestation_and_conditional_get(cos) -> None:
    first = cos.attestation()
    assert first.status == 200 and first.body["source"] == "local"
    digest.verify_content_digest(
        first.headers["content-digest"], json.dumps(first.body, separators=(",", ":")).encode()
    )
    second = cos.attestation(if_none_match=first.headers["etag"])
    assert second.status == 304 and second.body == b""


def test_evidence_submit_replay_list_and_show(logged_in) -> None:
    key = f"sdk-{uuid.uuid4()}"
    first = logged_in.submit_evidence(DOC, key)
    assert first.status == 202
    again = logged_in.submit_evidence(DOC, key)
    assert again.status == 202 and again.headers["idempotent-replayed"] == "true" and again.body == first.body
    assert logged_in.submit_evidence(dict(DOC, release="other"), key).status == 422
    assert logged_in.submit_evidence(DOC, None).reason == "missing_idempotency_key"
    assert logged_in.submit_evidence(DOC, f"x-{key}", content_digest="sha-256=:AAAA:").status == 400
    assert logged_in.submit_evidence(DOC, f"y-{key}", content_digest=False).status == 202
    listed = logged_in.list_evidence()
    assert listed.status == 200 and key in {i["idempotency_key"] for i in listed.body["items"]}
    assert all(i["state"] == "pending" for i in logged_in.list_evidence(state="pending").body["items"])
    shown = logged_in.get_evidence(first.body["evidence_id"])
    assert shown.status == 200 and shown.body["document"] == DOC and shown.body["state"] == "pending"
    assert logged_in.get_evidence("missing").status == 404


def test_health_metrics_openapi_and_raw_requests(logged_in) -> None:
    assert logged_in.health().body["mode"] == "standalone"
    assert logged_in.ready().status == 200
    assert "policy_reload_success_total" in logged_in.metrics_text()
    assert "/v1/authorize" in logged_in.openapi().body["paths"]
    raw = logged_in.request(
        "POST",
        "/v1/evidence",
        content=b'{"release": ',
        headers={"Idempotency-Key": "raw-1", "Content-Type": "application/json"},
    )
    assert raw.status == 400 and raw.reason == "malformed_json"  # the stored token was sent: not a 401
    unauth = logged_in.request("GET", "/v1/evidence", auth=False)
    assert unauth.status == 401


def test_on_exchange_sees_every_request_and_response(cos_url) -> None:
    seen: list[tuple[httpx.Request, httpx.Response]] = []
    with CompanyOSClient(cos_url, on_exchange=lambda req, resp: seen.append((req, resp))) as client:
        client.login("qa", "qa-dev-password")
        client.attestation()
    assert [(req.method, req.url.path, resp.status_code) for req, resp in seen] == [
        ("POST", "/v1/login", 200),
        ("GET", "/v1/attestation", 200),
    ]


def test_transport_injection_and_request_shapes() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.path == "/v1/login":
            return httpx.Response(200, json={"access_token": "tok", "token_type": "Bearer", "expires_in": 60})
        if request.url.path == "/metrics":
            return httpx.Response(200, text="x_total 1\n", headers={"content-type": "text/plain"})
        return httpx.Response(
            503, json={"reason": "down"}, headers={"content-type": "application/problem+json"}
        )

    client = CompanyOSClient("http://cos.invalid/", transport=httpx.MockTransport(handler))
    client.login("qa", "pw")
    reply = client.submit_evidence(DOC, "k-1")
    assert reply.status == 503 and reply.reason == "down"  # an error status is a reply, not an exception
    assert client.metrics_text() == "x_total 1\n"
    client.close()
    login_req, evidence_req, _ = requests
    assert "authorization" not in login_req.headers
    assert json.loads(login_req.content) == {"username": "qa", "password": "pw"}
    assert evidence_req.headers["authorization"] == "Bearer tok"
    assert evidence_req.headers["idempotency-key"] == "k-1"
    assert evidence_req.headers["content-digest"] == digest.content_digest(evidence_req.content)
    assert "tok" not in repr(client)


def test_transport_errors_raise() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with CompanyOSClient("http://cos.invalid", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(httpx.TransportError):
            client.health()
