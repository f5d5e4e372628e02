"""Admin API guards and validation, health/readiness/metrics, OpenAPI, CLI, secrets hygiene."""

from __future__ import annotations

import logging
from pathlib import Path

import jwt
import pytest
from mc_helpers import (
    ADMIN,
    BASE,
    CREDENTIALS,
    PACK,
    AppFactory,
    bearer,
    evidence_doc,
    get_token,
    post_evidence,
)
from starlette.routing import Route
from starlette.testclient import TestClient

from conductor import __main__ as cli
from conductor import mutations
from conductor.settings import Settings

ADMIN_ROUTES = [
    ("POST", f"/admin/packs/{PACK}/revisions"),
    ("GET", "/admin/evidence"),
    ("POST", "/admin/tokens"),
    ("PUT", "/admin/clients/companyos/callback"),
    ("GET", "/admin/clients/companyos/attestation"),
    ("POST", "/admin/reset"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_requires_the_admin_token(client: TestClient, token: str, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, bearer(token)):
        r = client.request(method, path, headers=headers)
        assert r.status_code == 401
        assert r.json()["reason"] == "invalid_admin_token"
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "mc-admin-dev" not in r.text


def test_custom_admin_token(make_app: AppFactory) -> None:
    with TestClient(make_app(admin_token="s3cret-admin"), base_url=BASE) as c:
        assert c.get("/admin/evidence", headers=ADMIN).status_code == 401
        assert c.get("/admin/evidence", headers=bearer("s3cret-admin")).status_code == 200


def test_admin_mints_scoped_and_expired_tokens(client: TestClient) -> None:
    r = client.post(
        "/admin/tokens", json={"client_id": "x", "scopes": ["policy:read"], "lifetime_s": 60}, headers=ADMIN
    )
    assert r.status_code == 200
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "x" and claims["scope"] == "policy:read"
    assert claims["exp"] - claims["iat"] == 60
    assert client.get(f"/v1/policy/packs/{PACK}", headers=bearer(r.json()["access_token"])).status_code == 200
    expired = client.post("/admin/tokens", json={"lifetime_s": -30}, headers=ADMIN).json()["access_token"]
    assert client.get(f"/v1/policy/packs/{PACK}", headers=bearer(expired)).status_code == 401
    none = client.post("/admin/tokens", json={"scopes": []}, headers=ADMIN).json()["access_token"]
    assert client.get(f"/v1/policy/packs/{PACK}", headers=bearer(none)).status_code == 403
    bad = client.post("/admin/tokens", json={"scopes": ["root"]}, headers=ADMIN)
    assert bad.status_code == 400 and bad.json()["reason"] == "invalid_scope"
    long = client.post("/admin/tokens", json={"lifetime_s": 901}, headers=ADMIN)
    assert long.status_code == 422 and long.json()["field"] == "lifetime_s"
    junk = client.post(
        "/admin/tokens", content=b"nope", headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert junk.status_code == 400 and junk.json()["reason"] == "malformed_json"


def test_reset_forgets_evidence(client: TestClient, token: str) -> None:
    post_evidence(client, token, "before-reset", evidence_doc())
    r = client.post("/admin/reset", headers=ADMIN)
    assert r.status_code == 200 and r.json()["reset"] is True
    assert client.get("/admin/evidence", headers=ADMIN).json() == {
        "total": 0,
        "distinct_keys": 0,
        "by_key": {},
        "items": [],
        "next": None,
    }
    # The key is free again: a different body is a new evidence, not a 422.
    assert post_evidence(client, token, "before-reset", evidence_doc(release="new")).status_code == 201


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "pack": PACK, "revision": "v0"}


def test_readyz_is_503_when_storage_is_gone(make_app: AppFactory) -> None:
    app = make_app()
    client = TestClient(app, base_url=BASE)  # no lifespan: we close the database ourselves
    app.state.conductor.db.close()
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["reason"] == "not_ready"


def test_metrics_count_what_happened(client: TestClient, token: str) -> None:
    read = bearer(get_token(client, "policy:read"))
    etag = client.get(f"/v1/policy/packs/{PACK}", headers=read).headers["etag"]
    client.get(f"/v1/policy/packs/{PACK}", headers={**read, "If-None-Match": etag})
    post_evidence(client, token, "m-1", evidence_doc())
    post_evidence(client, token, "m-1", evidence_doc())
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'mc_tokens_issued_total{via="client_credentials"} 2.0' in text
    assert f'mc_packs_served_total{{pack="{PACK}"}} 1.0' in text
    assert f'mc_packs_not_modified_total{{pack="{PACK}"}} 1.0' in text
    assert 'mc_evidence_stored_total{api="rest"} 1.0' in text
    assert 'mc_evidence_replayed_total{api="rest"} 1.0' in text
    assert "mc_receipts_delivered_total 0.0" in text
    assert "mc_receipts_failed_total 0.0" in text


def test_two_apps_in_one_process_have_separate_metrics(make_app: AppFactory, tmp_path: Path) -> None:
    with TestClient(make_app(), base_url=BASE) as a, TestClient(make_app(tmp_path / "b"), base_url=BASE) as b:
        a.post("/v1/tokens", data=CREDENTIALS)
        assert 'mc_tokens_issued_total{via="client_credentials"} 1.0' in a.get("/metrics").text
        assert 'mc_tokens_issued_total{via="client_credentials"}' not in b.get("/metrics").text


@pytest.mark.parametrize("listener", ["public", "admin"])
def test_openapi_lists_every_route(client: TestClient, listener: str) -> None:
    """Each listener serves its own document, listing exactly its routes."""
    app = client.app.public if listener == "public" else client.app.admin  # type: ignore[attr-defined]
    with TestClient(app, base_url=BASE) as own:
        doc = own.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    routes = [r for r in app.routes if isinstance(r, Route)]
    assert {r.path for r in routes} == set(doc["paths"])
    for route in routes:
        assert route.path in doc["paths"], route.path
        for method in route.methods or ():
            if method != "HEAD" or route.path == "/v1/policy/packs/{pack}":
                assert method.lower() in doc["paths"][route.path], (method, route.path)


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    r = client.get("/nope")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = client.delete("/v1/tokens")
    assert r.status_code == 405 and r.json()["reason"] == "method_not_allowed"


def test_secrets_stay_out_of_bodies_and_logs(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = get_token(client)
    bodies = [
        client.post("/v1/tokens", data={**CREDENTIALS, "client_secret": "hunter2-guess"}).text,
        client.get("/admin/evidence", headers=bearer("hunter2-admin")).text,
        client.get(f"/v1/policy/packs/{PACK}", headers=bearer(token + "x")).text,
    ]
    for text in [*bodies, caplog.text]:
        assert "hunter2" not in text
        assert "companyos-dev-secret" not in text
        assert token not in text


def test_cli_help_lists_every_flag() -> None:
    text = cli.build_parser().format_help()
    for flag in (
        "--host",
        "--port",
        "--data-dir",
        "--signing-key",
        "--callback-url",
        "--token-ttl",
        "--admin-token",
        "--client-id",
        "--client-secret",
        "--policy-dir",
        "--seam-mutation",
        "--test-evidence-delay-ms",
        "--receipt-max-attempts",
    ):
        assert flag in text
    assert "companyos-dev-secret" not in text and "mc-admin-dev" not in text


def test_cli_defaults_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MC_HOST", "MC_PORT", "MC_ADMIN_TOKEN", "MC_CLIENT_SECRET", "MC_TEST_EVIDENCE_DELAY_MS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEAM_MUTATIONS", "mc.etag-weak, cos.evidence-201")
    settings = cli.settings_from_args(
        cli.build_parser().parse_args(["--seam-mutation", "mc.no-304", "--allow-test-hooks"])
    )
    assert (settings.host, settings.port) == ("127.0.0.1", 8700)
    assert settings.mutations == {"mc.etag-weak", "mc.no-304"}  # cos.* names belong to COS
    assert settings.admin_token == "mc-admin-dev"
    assert len(settings.dev_defaults_in_use()) == 3
    monkeypatch.setenv("MC_TEST_EVIDENCE_DELAY_MS", "250")
    monkeypatch.setenv("MC_CLIENT_SECRET", "from-env")
    monkeypatch.delenv("SEAM_MUTATIONS")
    settings = cli.settings_from_args(cli.build_parser().parse_args(["--allow-test-hooks"]))
    assert settings.test_evidence_delay_ms == 250
    assert settings.client_secret == "from-env"
    assert settings.mutations == frozenset()


def test_unknown_mc_mutation_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown MC seam mutation"):
        mutations.parse(["mc.etag-wek"])
    with pytest.raises(ValueError):
        Settings(token_ttl_s=901)
