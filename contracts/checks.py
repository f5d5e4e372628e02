"""Seam checks Pact cannot express, applied to what the provider actually sends.

Pact compares a response with the contract field by field, but some promises relate a value to
*other bytes of the same response* or to what is *inside* an opaque value:

- `Content-Digest` must be the digest of the body actually sent (RFC 9530). Pact can pin the
  header's form, or a value a provider state computed, but never checks it against the body.
- An MC access token (a JWT, opaque to Pact) must live at most 15 minutes (`exp - iat` ≤ 900 and
  equal to `expires_in`) and carry exactly the scopes requested (docs/seam.md, "Tokens").

So verification sends every request through `CheckingProxy`, a loopback HTTP proxy in front of
the provider. It forwards requests and responses unchanged, except that a response breaking
one of these promises gets the offending value replaced by a marker saying why
(`Content-Digest: invalid (contracts/checks.py): …`, `access_token: "invalid (…): …"`). The
marker can never satisfy the pact (it fails the `Content-Digest` syntax / the JWT form), so the
break shows up as an ordinary Pact mismatch on the very interaction that saw it. Violations
are also kept in `violations` for the report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl

import httpx
import jwt

from harness.kit.loopback_server import LoopbackServer
from seam import digest
from seam.tokens import MAX_LIFETIME_S

MARK = "invalid (contracts/checks.py)"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}


def content_digest_problem(method: str, status: int, headers: dict[str, str], body: bytes) -> str | None:
    """Why the response's Content-Digest is not the digest of `body`, or None if it is."""
    header = headers.get("content-digest")
    if header is None or method == "HEAD" or status in (204, 304):
        return None
    try:
        digest.verify_content_digest(header, body)
    except digest.DigestError as exc:
        return f"{exc}; the body sent has {digest.content_digest(body)}"
    return None


def token_problem(request_body: bytes, response: dict) -> str | None:
    """Why an MC token response breaks the lifetime or scope promise, or None."""
    token = response.get("access_token")
    if not isinstance(token, str):
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        return f"access token is not a JWT ({type(exc).__name__})"
    lifetime = int(claims.get("exp", 0)) - int(claims.get("iat", 0))
    if lifetime > MAX_LIFETIME_S:
        return f"token lives exp - iat = {lifetime} s > {MAX_LIFETIME_S} s"
    if response.get("expires_in") != lifetime:
        return f"expires_in {response.get('expires_in')} != exp - iat {lifetime}"
    requested = dict(parse_qsl(request_body.decode("utf-8", "replace"))).get("scope")
    if requested is not None and sorted(str(claims.get("scope", "")).split()) != sorted(requested.split()):
        return f"token scopes {claims.get('scope')!r} are not exactly the requested {requested!r}"
    return None


class _Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    clients: dict[str, httpx.Client]
    default: str
    choose: Callable[[], str | None]
    violations: list[str]

    def _forward(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        request_body = self.rfile.read(length) if length else b""
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        upstream = self.clients[self.choose() or self.default]
        request = upstream.build_request(self.command, self.path, headers=headers, content=request_body)
        response = upstream.send(request, stream=True)
        try:
            body = b"".join(response.iter_raw())
        finally:
            response.close()
        out_headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
        body = self._check(request_body, response.status_code, out_headers, body)
        self.send_response(response.status_code)
        for name, value in response.headers.multi_items():
            lower = name.lower()
            if lower in _HOP_BY_HOP or lower in ("content-length", "content-digest"):
                continue
            self.send_header(name, value)
        if "content-digest" in out_headers:
            self.send_header("Content-Digest", out_headers["content-digest"])
        if self.command == "HEAD":
            self.send_header("Content-Length", response.headers.get("content-length", "0"))
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _check(self, request_body: bytes, status: int, headers: dict[str, str], body: bytes) -> bytes:
        where = f"{self.command} {self.path} → {status}"
        problem = content_digest_problem(self.command, status, headers, body)
        if problem:
            self.violations.append(f"{where}: Content-Digest {problem}")
            headers["content-digest"] = f"{MARK}: {problem}"
        if self.command == "POST" and self.path.split("?")[0] == "/v1/tokens" and status == 200:
            try:
                doc = json.loads(body)
            except ValueError:
                return body
            problem = token_problem(request_body, doc) if isinstance(doc, dict) else None
            if problem:
                self.violations.append(f"{where}: {problem}")
                doc["access_token"] = f"{MARK}: {problem}"
                body = json.dumps(doc).encode("utf-8")
                if "content-digest" in headers:
                    headers["content-digest"] = digest.content_digest(body)
        return body

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._forward()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


class CheckingProxy:
    """`with CheckingProxy(provider_base_url) as proxy:` — verify against `proxy.url` instead.

    `alternates` are other instances of the provider; `choose()` names the one the next
    request goes to (`StateRegistry.take_route`), None meaning `upstream`.
    """

    def __init__(
        self, upstream: str, alternates: Iterable[str] = (), choose: Callable[[], str | None] | None = None
    ) -> None:
        self.violations: list[str] = []
        self._clients = {url: httpx.Client(base_url=url, timeout=30.0) for url in {upstream, *alternates}}
        attrs = {
            "clients": self._clients,
            "default": upstream,
            "choose": staticmethod(choose or (lambda: None)),
            "violations": self.violations,
        }
        self._server = LoopbackServer(type("CheckingHandler", (_Proxy,), attrs), "pact-checks")

    @property
    def url(self) -> str:
        return self._server.base_url

    def __enter__(self) -> CheckingProxy:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)
        for client in self._clients.values():
            client.close()
