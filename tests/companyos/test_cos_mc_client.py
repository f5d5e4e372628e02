"""COS's MC client against the real MC, and its promise of one request per call."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time

import httpx
import pytest
from cos_helpers import PACK, evidence_doc, new_key

from companyos.credentials import CredentialError, TokenCache
from companyos.mc_client import ConductorClient, to_graphql_input
from seam import digest, dsse, keys


def run(coro):
    return asyncio.run(coro)


async def with_client(mc_url: str, fn, secret: str = "companyos-dev-secret"):
    async with ConductorClient(mc_url, "companyos", secret) as client:
        return await fn(client)


def test_token_pack_attestation_and_key(mc) -> None:
    async def flow(c: ConductorClient):
        tok = await c.get_token(["policy:read", "evidence:write"])
        pack = await c.fetch_pack(PACK)
        again = await c.fetch_pack(PACK, if_none_match=pack.etag)
        head = await c.head_pack(PACK)
        att = await c.fetch_attestation(PACK, digest.sha256_hex(pack.content))
        key = await c.public_key_pem()
        missing = await c.fetch_pack("no-such-pack")
        return tok, pack, again, head, att, key, missing

    tok, pack, again, head, att, key, missing = run(with_client(mc.url, flow))
    assert tok.status == 200 and tok.access_token and 0 < tok.expires_in <= 900
    assert "access_token" not in (tok.body or {})  # the token is not kept in the generic body
    assert set(tok.scope.split()) == {"policy:read", "evidence:write"}
    assert pack.status == 200 and pack.revision == "v0"
    hex_digest = hashlib.sha256(pack.content).hexdigest()
    assert pack.etag == f'"sha256-{hex_digest}"'
    digest.verify_content_digest(pack.content_digest, pack.content)
    assert again.status == 304 and again.content == b"" and again.etag == pack.etag
    assert head.status == 200 and head.etag == pack.etag and head.content == b""
    assert att.status == 200
    public = keys.load_public(key.pem)
    assert dsse.verify_pack(att.envelope, public, PACK, hex_digest)["predicate"]["revision"] == "v0"
    assert missing.status == 404 and missing.reason == "unknown_pack"


def test_bad_credentials_and_missing_token(mc) -> None:
    async def bad(c: ConductorClient):
        return await c.get_token(["policy:read"])

    refused = run(with_client(mc.url, bad, secret="not-the-secret"))
    assert refused.status == 401 and refused.access_token is None and refused.reason == "invalid_client"

    async def no_token(c: ConductorClient):
        return await c.fetch_pack(PACK)

    assert run(with_client(mc.url, no_token)).status == 401


def test_publish_rest_and_graphql_with_replays(mc) -> None:
    doc = evidence_doc()
    body = json.dumps(doc).encode()
    key, gkey = new_key(), new_key()

    async def flow(c: ConductorClient):
        await c.get_token(["evidence:write"])
        first = await c.publish_evidence(body, key)
        again = await c.publish_evidence(body, key)
        g_first = await c.publish_evidence_graphql(evidence_doc(), gkey)
        g_cross = await c.publish_evidence_graphql(doc, key)  # same evidence, same key, other API
        return first, again, g_first, g_cross

    first, again, g_first, g_cross = run(with_client(mc.url, flow))
    assert first.status == 201 and not first.replayed and first.evidence_id.startswith("ev_")
    assert again.status == 201 and again.replayed and again.evidence_id == first.evidence_id
    assert g_first.status == 200 and g_first.evidence_ok and not g_first.replayed
    assert g_cross.evidence_ok and g_cross.replayed and g_cross.evidence_id == first.evidence_id
    assert mc.evidence()["by_key"] == {key: 1, gkey: 1}


def test_each_call_is_exactly_one_request_to_the_given_base_url() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/v1/tokens"):
            return httpx.Response(200, json={"access_token": "tok", "token_type": "Bearer", "expires_in": 60})
        return httpx.Response(200, json={"evidence_id": "ev_1"}, headers={"ETag": '"x"'})

    async def flow():
        c = ConductorClient(
            "http://mock.invalid:1234/base/", "companyos", "s3cr3t", transport=httpx.MockTransport(handler)
        )
        calls = [
            c.get_token(["policy:read"]),
            c.fetch_pack(PACK, if_none_match='"a", "b"'),
            c.head_pack(PACK),
            c.fetch_attestation(PACK, "ab" * 32),
            c.public_key_pem(),
            c.publish_evidence(b"{}", "key-1"),
            c.publish_evidence_graphql({"produced_at": "t", "kind": "sbom"}, "key-2"),
        ]
        for call in calls:
            await call
        await c.aclose()
        return c

    client = run(flow())
    assert len(seen) == 7
    assert all(r.url.host == "mock.invalid" and r.url.port == 1234 for r in seen)
    assert all(r.url.path.startswith("/base/v1/") or r.url.path == "/base/graphql" for r in seen)
    token_req, pack_req, head_req, att_req, key_req, ev_req, gql_req = seen
    form = dict(x.split("=", 1) for x in token_req.content.decode().split("&"))
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "companyos",
        "client_secret": "s3cr3t",
        "scope": "policy%3Aread",
    }
    assert pack_req.headers["authorization"] == "Bearer tok"  # the stored token is used
    assert pack_req.headers["if-none-match"] == '"a", "b"'
    assert head_req.method == "HEAD"
    assert att_req.url.params["digest"] == "ab" * 32
    assert "authorization" not in key_req.headers
    assert ev_req.headers["idempotency-key"] == "key-1"
    assert ev_req.headers["content-digest"] == digest.content_digest(b"{}")
    variables = json.loads(gql_req.content)["variables"]
    assert variables == {"input": {"producedAt": "t", "kind": "sbom"}, "key": "key-2"}
    assert "s3cr3t" not in repr(client)
    assert to_graphql_input({"produced_at": "x"}) == {"producedAt": "x"}


def test_token_cache_renews_before_expiry_and_after_a_401() -> None:
    issued: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        issued.append(1)
        if len(issued) == 4:
            return httpx.Response(401, json={"reason": "invalid_client"})
        return httpx.Response(200, json={"access_token": f"t{len(issued)}", "expires_in": 100})

    async def flow():
        client = ConductorClient("http://mc.invalid", "c", "s", transport=httpx.MockTransport(handler))
        cache = TokenCache(client)
        first = await cache.token()
        assert await cache.token() == first and len(issued) == 1  # cached
        assert cache._renew_at <= cache.expires_at - 20  # renewed with ≥ 20% of the lifetime left
        cache._renew_at = time.time() - 1  # as if 80% of the lifetime had passed
        second = await cache.token()
        cache.invalidate()
        third = await cache.token()
        cache.invalidate()
        with pytest.raises(CredentialError) as refused:
            await cache.token()
        await client.aclose()
        return first, second, third, refused.value

    first, second, third, refused = run(flow())
    assert (first, second, third) == ("t1", "t2", "t3")
    assert refused.reason == "invalid_client" and refused.status == 401
