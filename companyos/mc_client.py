"""COS's client for Maestro Conductor: one method per seam call, nothing hidden.

Why so plain: the Pact consumer tests drive this class against a mock MC,
so each method makes exactly the one request its name says, against any
base URL, and returns a small result (status, headers, parsed body) instead
of raising for HTTP statuses — the caller (fetcher, publisher) decides what
a 304, 401, 409 or replay means. Only transport failures raise
(`httpx.TransportError`: connection refused, reset, timeout).

Auth: `get_token()` stores the token it obtained in `access_token`; the
other calls send it (or an explicit `token=`). No call fetches a token
implicitly. The client secret is sent in the form body and never logged.

    client = ConductorClient("http://127.0.0.1:8700", "companyos", "companyos-dev-secret")
    await client.get_token(["policy:read", "evidence:write"])
    pack = await client.fetch_pack("policy-pack-v0", if_none_match='"sha256-…"')
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from seam import digest

GRAPHQL_PUBLISH = (
    "mutation($input: EvidenceInput!, $key: String!) { "
    "publishEvidence(input: $input, idempotencyKey: $key) { "
    "evidenceOk evidenceId replayed error { reason field message } } }"
)


@dataclass(frozen=True)
class Result:
    """Status, headers (lower-cased names) and the parsed body of one MC response."""

    status: int
    headers: dict[str, str]
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def reason(self) -> str | None:
        """The problem+json `reason` of an error response, if any."""
        return self.body.get("reason") if isinstance(self.body, dict) else None


@dataclass(frozen=True)
class TokenResult(Result):
    access_token: str | None = field(default=None, repr=False)
    expires_in: int | None = None
    scope: str | None = None


@dataclass(frozen=True)
class PackResult(Result):
    content: bytes = field(default=b"", repr=False)

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def content_digest(self) -> str | None:
        return self.headers.get("content-digest")

    @property
    def revision(self) -> str | None:
        return self.headers.get("x-pack-revision")


@dataclass(frozen=True)
class AttestationResult(Result):
    content: bytes = field(default=b"", repr=False)

    @property
    def envelope(self) -> dict[str, Any] | None:
        return self.body if self.status == 200 and isinstance(self.body, dict) else None


@dataclass(frozen=True)
class KeyResult(Result):
    pem: str | None = None


@dataclass(frozen=True)
class PublishResult(Result):
    @property
    def replayed(self) -> bool:
        return self.headers.get("idempotent-replayed", "").lower() == "true"

    @property
    def evidence_id(self) -> str | None:
        return self.body.get("evidence_id") if isinstance(self.body, dict) else None


@dataclass(frozen=True)
class GraphQLPublishResult(Result):
    @property
    def payload(self) -> dict[str, Any]:
        if isinstance(self.body, dict):
            data = self.body.get("data") or {}
            return data.get("publishEvidence") or {}
        return {}

    @property
    def evidence_ok(self) -> bool:
        return bool(self.payload.get("evidenceOk"))

    @property
    def evidence_id(self) -> str | None:
        return self.payload.get("evidenceId")

    @property
    def replayed(self) -> bool:
        return bool(self.payload.get("replayed"))


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()}


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def to_graphql_input(doc: dict[str, Any]) -> dict[str, Any]:
    """The REST evidence document in GraphQL `EvidenceInput` spelling (producedAt)."""
    out = {k: v for k, v in doc.items() if k != "produced_at"}
    if "produced_at" in doc:
        out["producedAt"] = doc["produced_at"]
    return out


class ConductorClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.access_token: str | None = None
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"User-Agent": "companyos/0.1 (+mc_client)"},
        )

    def __repr__(self) -> str:
        return f"ConductorClient({self.base_url!r}, client_id={self.client_id!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ConductorClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _auth(self, token: str | None) -> dict[str, str]:
        tok = token or self.access_token
        return {"Authorization": f"Bearer {tok}"} if tok else {}

    async def get_token(self, scopes: list[str] | None = None) -> TokenResult:
        """`POST /v1/tokens` (client credentials, form-encoded); stores the token on success."""
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        if scopes:
            form["scope"] = " ".join(scopes)
        r = await self._http.post("/v1/tokens", data=form, headers={"Accept": "application/json"})
        body = _json_or_none(r)
        token = body.get("access_token") if r.status_code == 200 and isinstance(body, dict) else None
        if token:
            self.access_token = token
        safe_body = {k: v for k, v in body.items() if k != "access_token"} if isinstance(body, dict) else body
        return TokenResult(
            status=r.status_code,
            headers=_headers(r),
            body=safe_body,
            access_token=token,
            expires_in=int(body["expires_in"]) if token and "expires_in" in body else None,
            scope=body.get("scope") if isinstance(body, dict) else None,
        )

    async def fetch_pack(
        self, pack: str, if_none_match: str | None = None, *, token: str | None = None
    ) -> PackResult:
        """`GET /v1/policy/packs/{pack}`; 304 (no body) when `if_none_match` still matches."""
        headers = self._auth(token)
        if if_none_match:
            headers["If-None-Match"] = if_none_match
        r = await self._http.get(f"/v1/policy/packs/{pack}", headers=headers)
        body = _json_or_none(r) if r.status_code >= 400 else None
        return PackResult(status=r.status_code, headers=_headers(r), body=body, content=r.content)

    async def head_pack(
        self, pack: str, if_none_match: str | None = None, *, token: str | None = None
    ) -> PackResult:
        """`HEAD /v1/policy/packs/{pack}`: ETag, Content-Digest and revision without the bytes."""
        headers = self._auth(token)
        if if_none_match:
            headers["If-None-Match"] = if_none_match
        r = await self._http.head(f"/v1/policy/packs/{pack}", headers=headers)
        return PackResult(status=r.status_code, headers=_headers(r))

    async def fetch_attestation(
        self, pack: str, digest_hex: str | None = None, *, token: str | None = None
    ) -> AttestationResult:
        """`GET /v1/policy/packs/{pack}/attestation[?digest=<hex>]`: the DSSE envelope."""
        params = {"digest": digest_hex} if digest_hex else None
        r = await self._http.get(
            f"/v1/policy/packs/{pack}/attestation", params=params, headers=self._auth(token)
        )
        return AttestationResult(
            status=r.status_code, headers=_headers(r), body=_json_or_none(r), content=r.content
        )

    async def public_key_pem(self) -> KeyResult:
        """`GET /v1/keys/signing.pem` (no auth): MC's Ed25519 public key."""
        r = await self._http.get("/v1/keys/signing.pem")
        pem = r.text if r.status_code == 200 else None
        return KeyResult(status=r.status_code, headers=_headers(r), body=None, pem=pem)

    async def publish_evidence(
        self,
        doc_bytes: bytes,
        idempotency_key: str,
        *,
        token: str | None = None,
        content_digest: str | None = None,
    ) -> PublishResult:
        """`POST /v1/evidence` with the exact bytes, `Idempotency-Key` and `Content-Digest`.

        `content_digest` overrides the computed header (verbatim); only contract tests of
        MC's digest-mismatch answer use it."""
        headers = {
            **self._auth(token),
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key,
            "Content-Digest": content_digest or digest.content_digest(doc_bytes),
        }
        r = await self._http.post("/v1/evidence", content=doc_bytes, headers=headers)
        return PublishResult(status=r.status_code, headers=_headers(r), body=_json_or_none(r))

    async def publish_evidence_graphql(
        self, doc: dict[str, Any], idempotency_key: str, *, token: str | None = None
    ) -> GraphQLPublishResult:
        """`POST /graphql` mutation `publishEvidence(input, idempotencyKey)`."""
        payload = {
            "query": GRAPHQL_PUBLISH,
            "variables": {"input": to_graphql_input(doc), "key": idempotency_key},
        }
        r = await self._http.post(
            "/graphql",
            content=json.dumps(payload).encode("utf-8"),
            headers={**self._auth(token), "Content-Type": "application/json"},
        )
        return GraphQLPublishResult(status=r.status_code, headers=_headers(r), body=_json_or_none(r))
