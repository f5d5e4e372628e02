"""Who may call what: client credentials, bearer scopes, the admin token.

Why one module: `POST /v1/tokens` mints the tokens that every other `/v1`
route checks, so issuing and checking sit side by side with the exact
401/403 shapes docs/seam.md promises. Secrets are compared in constant time
and never echoed into a response or a log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conductor import mutations as mut
from conductor.metrics import Metrics
from conductor.mutations import Mutations
from conductor.settings import KNOWN_SCOPES, Settings
from seam import problem, strict_json
from seam.problem import Problem
from seam.tokens import Claims, ScopeMissing, TokenError, TokenIssuer, bearer

REALM = "maestro-conductor"
ADMIN_REALM = "maestro-conductor-admin"
TOKEN_BODY_LIMIT = 8 * 1024


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


@dataclass(frozen=True)
class Client:
    client_id: str
    secret_sha256: bytes
    scopes: tuple[str, ...]


class ClientRegistry:
    """The OAuth clients MC knows; the reference MC has one (the COS deployment)."""

    def __init__(self, clients: list[Client]) -> None:
        self._clients = {c.client_id: c for c in clients}

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientRegistry:
        return cls([Client(settings.client_id, _digest(settings.client_secret), settings.client_scopes)])

    def get(self, client_id: str) -> Client | None:
        return self._clients.get(client_id)

    def ids(self) -> list[str]:
        return sorted(self._clients)

    def authenticate(self, client_id: str, secret: str) -> Client | None:
        client = self._clients.get(client_id)
        # Compare even for unknown ids so timing does not reveal which ids exist.
        expected = client.secret_sha256 if client else _digest("\0unknown-client")
        ok = hmac.compare_digest(expected, _digest(secret))
        return client if client and ok else None


class Authenticator:
    """Turns an `Authorization` header into Claims, or into the seam's 401/403 problem."""

    def __init__(self, issuer: TokenIssuer, admin_token: str, mutations: Mutations) -> None:
        self._issuer = issuer
        self._admin_digest = _digest(admin_token)
        self._mutations = mutations

    def require(self, request: Request, scope: str) -> Claims:
        token = bearer(request.headers.get("authorization"))
        required = None if self._mutations.on(mut.SCOPE_CHECK_REMOVED) else scope
        try:
            return self._issuer.verify(token, required)
        except TokenError as exc:
            raise Problem(
                401,
                exc.reason,
                str(exc),
                headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'},
            ) from exc
        except ScopeMissing as exc:
            raise Problem(
                403,
                "insufficient_scope",
                str(exc),
                headers={
                    "WWW-Authenticate": (
                        f'Bearer realm="{REALM}", error="insufficient_scope", scope="{exc.required}"'
                    )
                },
                scope=exc.required,
            ) from exc

    def require_admin(self, request: Request) -> None:
        token = bearer(request.headers.get("authorization")) or ""
        if not hmac.compare_digest(self._admin_digest, _digest(token)):
            raise Problem(
                401,
                "invalid_admin_token",
                "a valid admin bearer token is required",
                headers={"WWW-Authenticate": f'Bearer realm="{ADMIN_REALM}"'},
            )


def _oauth_error(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> Problem:
    # `error` duplicates `reason` so plain RFC 6749 clients can read it too.
    return Problem(status, error, detail, headers=headers, error=error)


def _invalid_client() -> Problem:
    return _oauth_error(
        401,
        "invalid_client",
        "client authentication failed",
        headers={"WWW-Authenticate": f'Basic realm="{REALM}"'},
    )


async def _token_params(request: Request) -> dict[str, object]:
    body = await problem.read_body(request, TOKEN_BODY_LIMIT)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            params = strict_json.loads(body or b"{}")
        except strict_json.StrictJsonError as exc:
            # RFC 6749 §5.2 error codes only: the strict-JSON reason goes into the detail.
            raise _oauth_error(
                400, "invalid_request", f"request body is not accepted: {exc.detail}"
            ) from None
        if not isinstance(params, dict):
            raise _oauth_error(400, "invalid_request", "request body must be a JSON object")
        return params
    if ctype in ("application/x-www-form-urlencoded", ""):
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise _oauth_error(400, "invalid_request", "request body is not a valid form") from exc
    raise _oauth_error(400, "invalid_request", "send a form (application/x-www-form-urlencoded) or JSON")


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


def _requested_scopes(raw: object, client: Client) -> list[str]:
    if raw is None or raw == "":
        return list(client.scopes)
    if isinstance(raw, str):
        requested = raw.split()
    elif isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        requested = list(raw)
    else:
        raise _oauth_error(400, "invalid_scope", "scope must be a space-separated string")
    for scope in requested:
        if scope not in KNOWN_SCOPES:
            raise _oauth_error(400, "invalid_scope", f"unknown scope {scope!r}")
        if scope not in client.scopes:
            raise _oauth_error(400, "invalid_scope", f"scope {scope!r} is not granted to this client")
    return sorted(set(requested), key=requested.index)


def token_response(token: str, lifetime: int, scopes: list[str], mutations: Mutations) -> JSONResponse:
    field = "token" if mutations.on(mut.TOKEN_FIELD_RENAMED) else "access_token"
    body = {field: token, "token_type": "Bearer", "expires_in": lifetime, "scope": " ".join(scopes)}
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if mutations.on(mut.TOKEN_CACHE_CONTROL_DROPPED):
        headers = {}
    return JSONResponse(body, headers=headers)


def routes(
    clients: ClientRegistry, issuer: TokenIssuer, metrics: Metrics, mutations: Mutations
) -> list[Route]:
    async def issue_token(request: Request) -> Response:
        params = await _token_params(request)
        grant_type = params.get("grant_type")
        if not grant_type:
            raise _oauth_error(400, "invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            raise _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
        for name in ("client_id", "client_secret"):  # as documented, whichever credentials win
            if params.get(name) is not None and not isinstance(params[name], str):
                raise _oauth_error(400, "invalid_request", f"{name} must be a string")
        basic = _basic_credentials(request.headers.get("authorization"))
        client_id, secret = basic or (params.get("client_id"), params.get("client_secret"))
        if not isinstance(client_id, str) or not isinstance(secret, str) or not client_id:
            raise _invalid_client()
        client = clients.authenticate(client_id, secret)
        if client is None:
            raise _invalid_client()
        scopes = _requested_scopes(params.get("scope"), client)
        if mutations.on(mut.TOKEN_SCOPE_WIDENED):
            scopes = list(client.scopes)
        token, lifetime = issuer.issue(client.client_id, scopes)
        token, lifetime = mut.token_lifetime(mutations, issuer, token, lifetime)
        metrics.tokens_issued.labels(via="client_credentials").inc()
        return token_response(token, lifetime, scopes, mutations)

    return [Route("/v1/tokens", issue_token, methods=["POST"])]
