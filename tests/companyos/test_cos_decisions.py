"""The read path: decisions from the active pack, and the attestation of which pack that is."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import httpx
import pytest
from cos_helpers import bearer

from companyos.policy_engine import load
from companyos.policy_store import build_local_pack
from companyos.settings import DEFAULT_LOCAL_PACK_DIR
from seam import bundle, digest


def decide(url: str, token: str, roles: list[str], action: str, **extra) -> httpx.Response:
    doc = {"subject": {"user": "qa", "roles": roles}, "action": action, **extra}
    return httpx.post(f"{url}/v1/authorize", json=doc, headers=bearer(token))


@pytest.mark.parametrize(
    "roles,action,allow,reason",
    [
        (["developer"], "read", True, "role developer permits read"),
        (["developer"], "submit-evidence", True, "role developer permits submit-evidence"),
        (["developer"], "deploy", False, "no role of qa permits deploy"),
        (["release-manager"], "deploy", True, "role release-manager permits deploy"),
        ([], "read", False, "no role of qa permits read"),
    ],
)
def test_decisions_follow_the_local_pack(standalone, token, roles, action, allow, reason) -> None:
    r = decide(standalone.url, token, roles, action, resource={"release": "2026.11.3"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["allow"] is allow
    assert reason in body["reasons"]


def test_decision_names_the_pack_that_decided_it(standalone, token) -> None:
    body = decide(standalone.url, token, ["viewer"], "read").json()
    attested = httpx.get(f"{standalone.url}/v1/attestation").json()
    local = build_local_pack(DEFAULT_LOCAL_PACK_DIR, "policy-pack-v0")
    assert body["policy"] == {
        "pack": "policy-pack-v0",
        "revision": "local",
        "digest": hashlib.sha256(local).hexdigest(),
    }
    assert body["policy"]["digest"] == attested["digest"]


@pytest.mark.parametrize(
    "doc,field",
    [
        ({"action": "read"}, "subject"),
        ({"subject": {"roles": []}, "action": "read"}, "subject.user"),
        ({"subject": {"user": "qa", "roles": "admin"}, "action": "read"}, "subject.roles"),
        ({"subject": {"user": "qa", "roles": []}}, "action"),
    ],
)
def test_invalid_decision_requests_name_the_field(standalone, token, doc, field) -> None:
    r = httpx.post(f"{standalone.url}/v1/authorize", json=doc, headers=bearer(token))
    assert r.status_code == 422
    assert r.json()["field"] == field


def test_malformed_decision_request_is_400(standalone, token) -> None:
    headers = {**bearer(token), "Content-Type": "application/json"}
    r = httpx.post(f"{standalone.url}/v1/authorize", content=b"[1,2", headers=headers)
    assert r.status_code == 400 and r.json()["reason"] == "malformed_json"


def test_renamed_decision_field_mutation(start_cos) -> None:
    cos = start_cos(seam_mutations=frozenset({"cos.authorize-field-renamed"}))
    body = decide(cos.url, cos.token(), ["developer"], "read").json()
    assert "allow" not in body and body["allowed"] is True


def test_attestation_headers_and_conditional_get(standalone) -> None:
    r = httpx.get(f"{standalone.url}/v1/attestation")
    assert r.status_code == 200
    body = r.json()
    assert body["source"] == "local" and body["signature_verified"] is False
    assert body["pack"] == body["name"] == "policy-pack-v0" and body["revision"] == "local"
    assert body["loaded_at"].endswith("Z")
    assert r.headers["etag"] == f'"sha256-{body["digest"]}"'
    expected = base64.b64encode(hashlib.sha256(r.content).digest()).decode()
    assert r.headers["content-digest"] == f"sha-256=:{expected}:"
    for inm in (r.headers["etag"], f'"other", {r.headers["etag"]}', "W/" + r.headers["etag"], "*"):
        again = httpx.get(f"{standalone.url}/v1/attestation", headers={"If-None-Match": inm})
        assert again.status_code == 304, inm
        assert again.headers["etag"] == r.headers["etag"] and again.content == b""
    stale = httpx.get(f"{standalone.url}/v1/attestation", headers={"If-None-Match": '"sha256-00"'})
    assert stale.status_code == 200 and stale.json()["digest"] == body["digest"]


def test_attestation_mutations(start_cos) -> None:
    cos = start_cos(seam_mutations=frozenset({"cos.attestation-etag-weak", "cos.attestation-no-304"}))
    r = httpx.get(f"{cos.url}/v1/attestation")
    assert r.headers["etag"].startswith('W/"sha256-')
    again = httpx.get(f"{cos.url}/v1/attestation", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 200


def test_contract_mutations_still_reach_the_prepared_answers(start_cos, tmp_path) -> None:
    """The attestation body and digest are prepared per pack and decisions memoised: a test-only
    mutation must still change every answer, the first and the repeated ones."""
    cos = start_cos(
        seam_mutations=frozenset({"cos.attestation-signature-flag-wrong", "cos.decision-reasons-dropped"})
    )
    for _ in range(2):
        r = httpx.get(f"{cos.url}/v1/attestation")
        assert r.json()["signature_verified"] is True  # the local pack is unsigned: inverted
        assert r.headers["content-digest"] == digest.content_digest(r.content)
        body = decide(cos.url, cos.token(), ["developer"], "read").json()
        assert body["allow"] is True and "reasons" not in body
    wrong = start_cos(
        data_dir=tmp_path / "wrong", seam_mutations=frozenset({"cos.attestation-content-digest-wrong"})
    )
    for _ in range(2):
        r = httpx.get(f"{wrong.url}/v1/attestation")
        assert r.headers["content-digest"] != digest.content_digest(r.content)


def test_unknown_mutation_is_refused() -> None:
    from companyos.mutations import Mutations

    with pytest.raises(ValueError):
        Mutations(["cos.no-such-thing"])
    assert Mutations(["mc.etag-dropped"]).names == frozenset()  # MC's names are ignored by COS


def test_test_latency_is_added_to_the_read_and_write_paths(start_cos) -> None:
    cos = start_cos(test_latency_ms=150)
    token = cos.token()
    started = time.perf_counter()
    assert decide(cos.url, token, ["viewer"], "read").status_code == 200
    assert time.perf_counter() - started >= 0.15
    started = time.perf_counter()
    assert httpx.get(f"{cos.url}/v1/attestation").status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_prepared_engine_decides_fast_and_rejects_broken_packs() -> None:
    """The per-request cost is a clone + eval of a prepared engine, not a parse."""
    policy = load(build_local_pack(DEFAULT_LOCAL_PACK_DIR, "p"), source="local", signature_verified=False)
    policy.memo = None  # time the engine itself, not the decision memo
    doc = {"subject": {"user": "qa", "roles": ["developer"]}, "action": "read"}
    n = 2000
    started = time.perf_counter()
    for _ in range(n):
        assert policy.decide(doc).allow
    per_decision = (time.perf_counter() - started) / n
    assert per_decision < 0.001, f"{per_decision * 1e6:.0f} µs per decision"
    from companyos.policy_engine import PolicyLoadError

    with pytest.raises(PolicyLoadError):
        load(
            bundle.build("p", "x", {"a.rego": "package companyos.authz\nallow if {"}),
            source="mc",
            signature_verified=True,
        )
    with pytest.raises(PolicyLoadError):
        load(
            bundle.build("p", "x", {"a.rego": "package companyos.authz\nallow := 3\n"}),
            source="mc",
            signature_verified=True,
        )
    with pytest.raises(PolicyLoadError):
        load(
            bundle.build("p", "x", {"a.rego": "package companyos.other\nallow := true\n"}),
            source="mc",
            signature_verified=True,
        )
    with pytest.raises(bundle.BundleError):
        load(b"not a tarball", source="mc", signature_verified=True)
    undefined = load(
        bundle.build(
            "p", "x", {"a.rego": 'package companyos.authz\nimport rego.v1\nallow if input.action == "r"\n'}
        ),
        source="mc",
        signature_verified=True,
    )
    assert undefined.decide({"action": "w"}).allow is False  # undefined is a deny
    assert json.loads(undefined.attestation_body)["revision"] == "x"
