"""`CompanyOSClient`: a small synchronous httpx client for COS (see the package docstring)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from seam import digest

Exchange = Callable[[httpx.Request, httpx.Response], None]


@dataclass(frozen=True)
class Reply:
    """One COS answer. `headers` is case-insensitive; `body` is parsed JSON when it is JSON,
    else the raw bytes (b"" for 204/304)."""

    status: int
    headers: httpx.Headers
    body: Any
    raw: bytes = b""  # the exact bytes received, for digest checks

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def reason(self) -> str | None:
        """The problem+json `reason` of an error answer, if any."""
        return self.body.get("reason") if isinstance(self.body, dict) else None

    def json(self) -> Any:
        return self.body


def _parse(response: httpx.Response) -> Any:
    content = response.content
    ctype = response.headers.get("content-type", "")
    if content and "json" in ctype:
        try:
            return json.loads(content)
        except ValueError:
            return content
    return content


class CompanyOSClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        token: str | None = None,
        on_exchange: Exchange | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token: str | None = token
        self.on_exchange = on_exchange
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"CompanyOSClient({self.base_url!r}, logged_in={self.token is not None})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CompanyOSClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------
    def _auth(self, token: str | None) -> dict[str, str]:
        """`token=None` → the stored token; `token=""` → send no Authorization at all."""
        value = self.token if token is None else token
        return {"Authorization": f"Bearer {value}"} if value else {}

    def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        """Send anything (for bad-input tests); the stored token is added unless
        `headers` already carries Authorization or `auth=False` is passed."""
        send_auth = kwargs.pop("auth", True)
        headers = dict(kwargs.pop("headers", None) or {})
        explicit = [k for k in headers if k.lower() == "authorization"]
        for k in explicit:
            if not headers[k]:
                del headers[k]  # an explicit empty Authorization means: send none
        if send_auth and not explicit:
            headers.update(self._auth(None))
        response = self._http.request(method, path, headers=headers, **kwargs)
        if self.on_exchange is not None:
            self.on_exchange(response.request, response)
        return Reply(
            status=response.status_code, headers=response.headers, body=_parse(response), raw=response.content
        )

    def _json(self, method: str, path: str, doc: Any, headers: dict[str, str] | None = None) -> Reply:
        body = json.dumps(doc).encode("utf-8")
        return self.request(
            method, path, content=body, headers={"Content-Type": "application/json", **(headers or {})}
        )

    # -- endpoints ------------------------------------------------------------------------
    def login(self, username: str, password: str, *, ttl_s: int | None = None) -> Reply:
        """`POST /v1/login`; on 200 the token is stored and sent from then on.
        `ttl_s` asks for a shorter-lived token (COS never grants longer than its maximum)."""
        doc: dict[str, Any] = {"username": username, "password": password}
        if ttl_s is not None:
            doc["ttl_s"] = ttl_s
        reply = self._json("POST", "/v1/login", doc, headers={"Authorization": ""})
        if reply.status == 200 and isinstance(reply.body, dict) and reply.body.get("access_token"):
            self.token = reply.body["access_token"]
        return reply

    def authorize(
        self, subject: dict[str, Any], action: str, resource: Any = None, *, token: str | None = None
    ) -> Reply:
        """`POST /v1/authorize` → `{allow, reasons, policy {pack, revision, digest}}`."""
        doc: dict[str, Any] = {"subject": subject, "action": action}
        if resource is not None:
            doc["resource"] = resource
        return self._json("POST", "/v1/authorize", doc, headers={"Authorization": self._auth_value(token)})

    def attestation(self, if_none_match: str | None = None) -> Reply:
        """`GET /v1/attestation` (no auth); 304 with an empty body when `if_none_match` matches."""
        headers = {"If-None-Match": if_none_match} if if_none_match else {}
        return self.request("GET", "/v1/attestation", headers=headers, auth=False)

    def submit_evidence(
        self,
        doc: dict[str, Any] | bytes,
        idempotency_key: str | None,
        content_digest: bool | str = True,
        *,
        token: str | None = None,
    ) -> Reply:
        """`POST /v1/evidence`. `content_digest`: True → correct header, False → none,
        a string → sent verbatim (to test mismatches). `idempotency_key=None` omits the header."""
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode("utf-8")
        headers = {"Content-Type": "application/json", "Authorization": self._auth_value(token)}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if content_digest is True:
            headers["Content-Digest"] = digest.content_digest(body)
        elif isinstance(content_digest, str):
            headers["Content-Digest"] = content_digest
        return self.request("POST", "/v1/evidence", content=body, headers=headers)

    def list_evidence(self, state: str | None = None, *, token: str | None = None) -> Reply:
        """`GET /v1/evidence` → `{items: [...], total, counts}`."""
        params = {"state": state} if state else None
        return self.request(
            "GET", "/v1/evidence", params=params, headers={"Authorization": self._auth_value(token)}
        )

    def get_evidence(self, evidence_id: str, *, token: str | None = None) -> Reply:
        """`GET /v1/evidence/{id}` (COS evidence id or idempotency key)."""
        return self.request(
            "GET", f"/v1/evidence/{evidence_id}", headers={"Authorization": self._auth_value(token)}
        )

    def health(self) -> Reply:
        """`GET /healthz`."""
        return self.request("GET", "/healthz", auth=False)

    def ready(self) -> Reply:
        """`GET /readyz`."""
        return self.request("GET", "/readyz", auth=False)

    def metrics_text(self) -> str:
        """`GET /metrics` as Prometheus text ('' if COS did not answer 200)."""
        reply = self.request("GET", "/metrics", auth=False)
        if reply.status != 200:
            return ""
        return reply.body.decode("utf-8") if isinstance(reply.body, bytes) else str(reply.body)

    def openapi(self) -> Reply:
        """`GET /openapi.json`."""
        return self.request("GET", "/openapi.json", auth=False)

    def _auth_value(self, token: str | None) -> str:
        return self._auth(token).get("Authorization", "")
