"""The admin API: what the acceptance suite uses to steer MC (admin bearer token only).

Why it exists: scenarios need to publish good and deliberately bad pack
revisions, count what MC received per idempotency key (exactly-once checks),
mint tokens the client-credentials flow would refuse (expired, narrow scope),
point a client's receipts somewhere, ask a COS what it enforces, and start
from a clean slate — all over HTTP, so the same suite works against any MC.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conductor.auth import Authenticator, ClientRegistry, token_response
from conductor.companyos_client import AttestationReader
from conductor.evidence_store import EvidenceStore
from conductor.metrics import Metrics
from conductor.mutations import Mutations
from conductor.packs import PACK_NAME, SIGNING_MODES, PackStore, validate_files
from conductor.receipts import ReceiptDispatcher
from conductor.settings import KNOWN_SCOPES, Settings
from seam import problem
from seam.problem import Problem
from seam.tokens import MAX_LIFETIME_S, TokenIssuer

ADMIN_BODY_LIMIT = 2 * 1024 * 1024


async def _json(request: Request) -> dict[str, Any]:
    problem.require_json(request)
    return problem.parse_json_object(await problem.read_body(request, ADMIN_BODY_LIMIT))


def _http_url(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise Problem(422, "invalid_request", f"{field} must be an http(s) URL", field=field)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Problem(422, "invalid_request", f"{field} must be an http(s) URL", field=field)
    return value


def routes(
    *,
    auth: Authenticator,
    settings: Settings,
    clients: ClientRegistry,
    issuer: TokenIssuer,
    packs: PackStore,
    store: EvidenceStore,
    dispatcher: ReceiptDispatcher,
    metrics: Metrics,
    mutations: Mutations,
    attestation_transport: httpx.AsyncBaseTransport | None = None,
) -> list[Route]:
    def known_client(client_id: str) -> str:
        if clients.get(client_id) is None:
            raise Problem(404, "unknown_client", f"no client {client_id!r}")
        return client_id

    async def publish_revision(request: Request) -> Response:
        auth.require_admin(request)
        pack = request.path_params["pack"]
        if not PACK_NAME.fullmatch(pack):
            raise Problem(422, "invalid_pack", "pack names are 1-64 of [A-Za-z0-9._-]", field="pack")
        body = await _json(request)
        revision = body.get("revision")
        if not isinstance(revision, str) or not 1 <= len(revision) <= 128:
            raise Problem(
                422, "invalid_pack", "revision must be a string of 1-128 characters", field="revision"
            )
        signing = body.get("signing", "valid")
        if signing not in SIGNING_MODES:
            raise Problem(
                422, "invalid_pack", f"signing must be one of {', '.join(SIGNING_MODES)}", field="signing"
            )
        files = validate_files(body.get("files"))
        rev = await asyncio.to_thread(packs.publish, pack, revision, files, signing)
        return JSONResponse(
            {"pack": rev.pack, "revision": rev.revision, "digest": rev.digest, "signing": rev.signing},
            status_code=201,
            headers={"Location": f"/v1/policy/packs/{rev.pack}"},
        )

    async def list_evidence(request: Request) -> Response:
        auth.require_admin(request)
        records = await asyncio.to_thread(store.all)
        by_key = Counter(r.idempotency_key for r in records)
        return JSONResponse(
            {
                "total": len(records),
                "distinct_keys": len(by_key),
                "by_key": dict(by_key),
                "items": [r.to_json() for r in records],
            }
        )

    async def mint_token(request: Request) -> Response:
        auth.require_admin(request)
        body = await _json(request)
        client_id = body.get("client_id", settings.client_id)
        if not isinstance(client_id, str) or not client_id:
            raise Problem(422, "invalid_request", "client_id must be a non-empty string", field="client_id")
        scopes = body.get("scopes", list(KNOWN_SCOPES))
        if isinstance(scopes, str):
            scopes = scopes.split()
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise Problem(422, "invalid_request", "scopes must be a list of strings", field="scopes")
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown:
            raise Problem(400, "invalid_scope", f"unknown scope {unknown[0]!r}", field="scopes")
        lifetime = body.get("lifetime_s", settings.token_ttl_s)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime > MAX_LIFETIME_S:
            raise Problem(
                422,
                "invalid_request",
                f"lifetime_s must be an integer ≤ {MAX_LIFETIME_S} (≤ 0 mints an expired token)",
                field="lifetime_s",
            )
        token, life = issuer.issue(client_id, scopes, lifetime_s=lifetime)
        metrics.tokens_issued.labels(via="admin").inc()
        return token_response(token, life, scopes, mutations)

    async def set_callback(request: Request) -> Response:
        auth.require_admin(request)
        client_id = known_client(request.path_params["client_id"])
        body = await _json(request)
        url = body.get("url")
        url = None if url is None else _http_url(url, "url")
        base_url = body.get("base_url")
        base_url = None if base_url is None else _http_url(base_url, "base_url").rstrip("/")
        await asyncio.to_thread(store.set_callback, client_id, url, base_url)
        dispatcher.resume(client_id)
        effective_url, effective_base = dispatcher.callback_for(client_id)
        return JSONResponse({"client_id": client_id, "url": effective_url, "base_url": effective_base})

    async def client_attestation(request: Request) -> Response:
        auth.require_admin(request)
        client_id = known_client(request.path_params["client_id"])
        _, base_url = await asyncio.to_thread(dispatcher.callback_for, client_id)
        if base_url is None:
            raise Problem(
                409, "no_client_url", f"client {client_id!r} has no callback or base URL configured"
            )
        reader = AttestationReader(base_url, async_transport=attestation_transport)
        try:
            reply = await reader.get_async(request.headers.get("if-none-match"))
        except httpx.HTTPError as exc:
            raise Problem(
                502, "client_unreachable", f"could not read the client's attestation: {type(exc).__name__}"
            ) from exc
        return JSONResponse({"client_id": client_id, "base_url": base_url, **reply.to_json()})

    async def reset(request: Request) -> Response:
        auth.require_admin(request)
        await dispatcher.cancel_all()
        await asyncio.to_thread(store.reset)
        await asyncio.to_thread(packs.reset)
        return JSONResponse({"reset": True, "packs": packs.names()})

    return [
        Route("/admin/packs/{pack}/revisions", publish_revision, methods=["POST"]),
        Route("/admin/evidence", list_evidence, methods=["GET"]),
        Route("/admin/tokens", mint_token, methods=["POST"]),
        Route("/admin/clients/{client_id}/callback", set_callback, methods=["PUT"]),
        Route("/admin/clients/{client_id}/attestation", client_attestation, methods=["GET"]),
        Route("/admin/reset", reset, methods=["POST"]),
    ]
