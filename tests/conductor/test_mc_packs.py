"""Policy packs: bytes, validators, conditional requests, attestations and signing modes."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from mc_helpers import ADMIN, BASE, PACK, AppFactory, bearer, content_digest, get_token
from starlette.testclient import TestClient

PACK_URL = f"/v1/policy/packs/{PACK}"
REGO = "package companyos.authz\n\nimport rego.v1\n\ndefault allow := true\n"


@pytest.fixture
def read(client: TestClient) -> dict[str, str]:
    return bearer(get_token(client, "policy:read"))


def etag_of(data: bytes) -> str:
    return f'"sha256-{hashlib.sha256(data).hexdigest()}"'


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def verify_envelope(envelope: dict, key: Ed25519PublicKey) -> dict:
    """Independent DSSE check: raises InvalidSignature/IndexError, returns the statement."""
    payload = base64.b64decode(envelope["payload"])
    sig = base64.b64decode(envelope["signatures"][0]["sig"])
    key.verify(sig, pae(envelope["payloadType"], payload))
    return json.loads(payload)


def mc_key(client: TestClient) -> Ed25519PublicKey:
    key = load_pem_public_key(client.get("/v1/keys/signing.pem").content)
    assert isinstance(key, Ed25519PublicKey)
    return key


def publish(client: TestClient, revision: str, signing: str = "valid", **files: str) -> dict:
    body = {"revision": revision, "files": files or {"authz.rego": REGO}, "signing": signing}
    r = client.post(f"/admin/packs/{PACK}/revisions", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    return r.json()


def test_get_pack_serves_gzip_with_validators(client: TestClient, read: dict) -> None:
    r = client.get(PACK_URL, headers=read)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/gzip"
    assert r.headers["etag"] == etag_of(r.content)
    assert r.headers["content-digest"] == content_digest(r.content)
    assert r.headers["x-pack-revision"] == "v0"
    assert r.headers["cache-control"] == "no-cache"
    with tarfile.open(fileobj=io.BytesIO(r.content), mode="r:gz") as tar:
        names = sorted(tar.getnames())
        manifest = json.loads(tar.extractfile(".manifest").read())  # type: ignore[union-attr]
    assert names == [".manifest", "authz.rego", "data.json"]
    assert manifest == {"metadata": {"name": PACK}, "revision": "v0", "roots": ["companyos"]}
    assert gzip.decompress(r.content)  # really gzip


def test_head_has_get_headers_and_no_body(client: TestClient, read: dict) -> None:
    got = client.get(PACK_URL, headers=read)
    head = client.head(PACK_URL, headers=read)
    assert head.status_code == 200
    assert head.content == b""
    for name in ("etag", "content-digest", "content-type", "x-pack-revision"):
        assert head.headers[name] == got.headers[name]
    assert head.headers["content-length"] == str(len(got.content))


@pytest.mark.parametrize(
    "if_none_match",
    [
        "{etag}",
        "*",
        '"sha256-{stale}", {etag}',
        "W/{etag}",
    ],
)
def test_if_none_match_hit_is_304_with_etag_and_no_body(
    client: TestClient, read: dict, if_none_match: str
) -> None:
    etag = client.get(PACK_URL, headers=read).headers["etag"]
    header = if_none_match.format(etag=etag, stale="0" * 64)
    for method in ("GET", "HEAD"):
        r = client.request(method, PACK_URL, headers={**read, "If-None-Match": header})
        assert r.status_code == 304
        assert r.headers["etag"] == etag
        assert r.content == b""


@pytest.mark.parametrize("if_none_match", ['"sha256-' + "0" * 64 + '"', '"a", "b"', 'W/"x"'])
def test_stale_if_none_match_is_200(client: TestClient, read: dict, if_none_match: str) -> None:
    r = client.get(PACK_URL, headers={**read, "If-None-Match": if_none_match})
    assert r.status_code == 200
    assert r.headers["etag"] == etag_of(r.content)


def test_unknown_pack_is_404_problem(client: TestClient, read: dict) -> None:
    for path in ("/v1/policy/packs/nope", "/v1/policy/packs/nope/attestation"):
        r = client.get(path, headers=read)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["reason"] == "unknown_pack"


def test_attestation_is_dsse_over_the_pack_digest(client: TestClient, read: dict) -> None:
    pack = client.get(PACK_URL, headers=read).content
    r = client.get(f"{PACK_URL}/attestation", headers=read)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["etag"] == etag_of(r.content)
    assert r.headers["content-digest"] == content_digest(r.content)
    envelope = r.json()
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement = verify_envelope(envelope, mc_key(client))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [{"name": PACK, "digest": {"sha256": hashlib.sha256(pack).hexdigest()}}]
    assert statement["predicateType"] == "https://cos-pact-e2e.dev/attestation/policy-pack/v1"
    assert statement["predicate"] == {"pack": PACK, "revision": "v0"}
    kid = client.get("/v1/keys").json()["keys"][0]["kid"]
    assert envelope["signatures"][0]["keyid"] == kid
    again = client.get(f"{PACK_URL}/attestation", headers={**read, "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_attestation_by_digest(client: TestClient, read: dict) -> None:
    v0 = client.get(PACK_URL, headers=read).content
    publish(client, "v1")
    v0_hex = hashlib.sha256(v0).hexdigest()
    r = client.get(f"{PACK_URL}/attestation", params={"digest": v0_hex}, headers=read)
    assert r.status_code == 200
    statement = verify_envelope(r.json(), mc_key(client))
    assert statement["subject"][0]["digest"]["sha256"] == v0_hex
    assert statement["predicate"]["revision"] == "v0"
    missing = client.get(f"{PACK_URL}/attestation", params={"digest": "f" * 64}, headers=read)
    assert missing.status_code == 404 and missing.json()["reason"] == "unknown_digest"
    bad = client.get(f"{PACK_URL}/attestation", params={"digest": "xyz"}, headers=read)
    assert bad.status_code == 400 and bad.json()["reason"] == "invalid_digest"


def test_valid_revision_replaces_the_served_pack(client: TestClient, read: dict) -> None:
    old = client.get(PACK_URL, headers=read)
    out = publish(client, "v1", **{"authz.rego": REGO, "data.json": '{"frozen_actions": ["deploy"]}'})
    new = client.get(PACK_URL, headers={**read, "If-None-Match": old.headers["etag"]})
    assert new.status_code == 200
    assert new.headers["x-pack-revision"] == "v1"
    assert out == {
        "pack": PACK,
        "revision": "v1",
        "digest": hashlib.sha256(new.content).hexdigest(),
        "signing": "valid",
    }
    statement = verify_envelope(client.get(f"{PACK_URL}/attestation", headers=read).json(), mc_key(client))
    assert statement["subject"][0]["digest"]["sha256"] == out["digest"]


def test_unsigned_revision_has_no_signatures(client: TestClient, read: dict) -> None:
    publish(client, "v1", "unsigned")
    envelope = client.get(f"{PACK_URL}/attestation", headers=read).json()
    assert envelope["signatures"] == []


def test_wrong_key_revision_fails_verification(client: TestClient, read: dict) -> None:
    publish(client, "v1", "wrong-key")
    envelope = client.get(f"{PACK_URL}/attestation", headers=read).json()
    assert envelope["signatures"]
    with pytest.raises(InvalidSignature):
        verify_envelope(envelope, mc_key(client))


def test_tampered_revision_attests_other_bytes(client: TestClient, read: dict) -> None:
    publish(client, "v1", "tampered")
    served = client.get(PACK_URL, headers=read).content
    statement = verify_envelope(client.get(f"{PACK_URL}/attestation", headers=read).json(), mc_key(client))
    assert statement["subject"][0]["digest"]["sha256"] != hashlib.sha256(served).hexdigest()


def test_bad_content_digest_revision(client: TestClient, read: dict) -> None:
    publish(client, "v1", "bad-content-digest")
    r = client.get(PACK_URL, headers=read)
    assert r.headers["content-digest"].startswith("sha-256=:")
    assert r.headers["content-digest"] != content_digest(r.content)
    assert r.headers["etag"] == etag_of(r.content)
    statement = verify_envelope(client.get(f"{PACK_URL}/attestation", headers=read).json(), mc_key(client))
    assert statement["subject"][0]["digest"]["sha256"] == hashlib.sha256(r.content).hexdigest()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"files": {"authz.rego": REGO}}, "revision"),
        ({"revision": "v1", "files": {"authz.rego": REGO}, "signing": "sloppy"}, "signing"),
        ({"revision": "v1", "files": {}}, "files"),
        ({"revision": "v1", "files": {"data.json": "{}"}}, "files"),
        ({"revision": "v1", "files": {"../evil.rego": REGO}}, "files.../evil.rego"),
        ({"revision": "v1", "files": {"authz.rego": REGO, "data.json": "[1]"}}, "files.data.json"),
    ],
)
def test_publish_rejects_bad_input(client: TestClient, body: dict, field: str) -> None:
    r = client.post(f"/admin/packs/{PACK}/revisions", json=body, headers=ADMIN)
    assert r.status_code == 422
    assert r.json()["field"] == field


def test_new_pack_name_and_reset(client: TestClient, read: dict) -> None:
    r = client.post(
        "/admin/packs/other-pack/revisions", json={"revision": "r1", "files": {"a.rego": REGO}}, headers=ADMIN
    )
    assert r.status_code == 201
    assert client.get("/v1/policy/packs/other-pack", headers=read).status_code == 200
    publish(client, "v9")
    assert client.post("/admin/reset", headers=ADMIN).status_code == 200
    assert client.get(PACK_URL, headers=read).headers["x-pack-revision"] == "v0"
    assert client.get("/v1/policy/packs/other-pack", headers=read).status_code == 404


def test_published_revisions_survive_restart(make_app: AppFactory, tmp_path: Path) -> None:
    with TestClient(make_app(), base_url=BASE) as c:
        read = bearer(get_token(c, "policy:read"))
        publish(c, "v1")
        before = c.get(PACK_URL, headers=read)
        env_before = c.get(f"{PACK_URL}/attestation", headers=read).content
    with TestClient(make_app(), base_url=BASE) as c:
        read = bearer(get_token(c, "policy:read"))
        after = c.get(PACK_URL, headers=read)
        assert after.headers["x-pack-revision"] == "v1"
        assert after.content == before.content
        assert c.get(f"{PACK_URL}/attestation", headers=read).content == env_before
