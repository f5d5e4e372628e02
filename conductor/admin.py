"""The admin API: what the acceptance suite uses to steer MC (admin bearer token only).

Why it exists: scenarios need to publish good and deliberately bad pack
revisions, count what MC received per idempotency key (exactly-once checks),
mint tokens the client-credentials flow would refuse (expired, narrow scope),
point a client's receipts somewhere, ask a COS what it enforces, and start
from a clean slate — all over HTTP, so the same suite works against any MC.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conductor.auth import Authenticator, ClientRegistry, token_response
from conductor.companyos_client import AttestationReader
from conductor.evidence_store import EvidenceRecord, EvidenceStore
from conductor.metrics import Metrics
from conductor.models import (
    CURSOR,
    LEDGER_PAGE_MAX,
    CallbackRequest,
    EvidenceQuery,
    MintRequest,
    RevisionRequest,
)
from conductor.mutations import Mutations
from conductor.packs import PACK_NAME, PackStore, validate_files
from conductor.receipts import ReceiptDispatcher
from conductor.settings import KNOWN_SCOPES, Settings
from seam import problem
from seam.models.validation import parse
from seam.problem import Problem
from seam.tokens import TokenIssuer

ADMIN_BODY_LIMIT = 2 * 1024 * 1024
_CURSOR = re.compile(CURSOR)
_LIMIT = re.compile(r"^[0-9]{1,4}$")


async def _json(request: Request) -> dict[str, Any]:
    problem.require_json(request)
    return problem.parse_json_object(await problem.read_body(request, ADMIN_BODY_LIMIT))


def _page_params(request: Request) -> tuple[int, int]:
    """`after` (a cursor from an earlier answer, default: the start) and `limit` (1..1000, default
    1000) of a ledger listing, or a 400 naming the bad one."""
    after = request.query_params.get("after", "0")
    if not _CURSOR.fullmatch(after):
        raise Problem(400, "invalid_cursor", "after must be a cursor from an earlier answer", field="after")
    limit = request.query_params.get("limit", str(LEDGER_PAGE_MAX))
    if not _LIMIT.fullmatch(limit) or not 1 <= int(limit) <= LEDGER_PAGE_MAX:
        reason = f"limit must be an integer in 1..{LEDGER_PAGE_MAX}"
        raise Problem(400, "invalid_limit", reason, field="limit")
    return int(after), int(limit)


def _page(rows: list[tuple[int, EvidenceRecord]], limit: int) -> dict[str, Any]:
    """Items with their cursors, and `next`: the last one's cursor if the page is full (there may be
    more now), else null. A poller resumes from the last item's own cursor."""
    return {
        "items": [{**record.to_json(), "cursor": str(cursor)} for cursor, record in rows],
        "next": str(rows[-1][0]) if len(rows) == limit else None,
    }


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
        body = parse(RevisionRequest, await _json(request), reason="invalid_pack")
        files = validate_files(body.files)
        rev = await asyncio.to_thread(packs.publish, pack, body.revision, files, body.signing)
        return JSONResponse(
            {"pack": rev.pack, "revision": rev.revision, "digest": rev.digest, "signing": rev.signing},
            status_code=201,
            headers={"Location": f"/v1/policy/packs/{rev.pack}"},
        )

    async def list_evidence(request: Request) -> Response:
        """One page of everything MC holds (oldest first); on the first, the whole store's counts."""
        auth.require_admin(request)
        after, limit = _page_params(request)

        first = "after" not in request.query_params

        def read() -> dict[str, Any]:
            rows = store.page(after, limit)
            # The counts scan the key index (~70 ms at a million records): the first page only,
            # so a walk through the whole ledger pays them once (docs/decisions.md).
            total, distinct_keys = store.counts() if first else (None, None)
            by_key = store.key_counts(sorted({record.idempotency_key for _, record in rows}))
            return {"total": total, "distinct_keys": distinct_keys, "by_key": by_key, **_page(rows, limit)}

        return JSONResponse(await asyncio.to_thread(read))

    async def query_evidence(request: Request) -> Response:
        """A ledger check: the records of these keys or digests, by index (cost flat with history)."""
        auth.require_admin(request)
        body = parse(EvidenceQuery, await _json(request), reason="invalid_request")
        if not body.keys and not body.digests:
            raise Problem(422, "invalid_request", "name at least one key or digest", field="keys")
        after = int(body.after or 0)
        rows = await asyncio.to_thread(store.matching, body.keys, body.digests, after, body.limit)
        return JSONResponse(_page(rows, body.limit))

    async def mint_token(request: Request) -> Response:
        auth.require_admin(request)
        body = parse(MintRequest, await _json(request), reason="invalid_request")
        client_id = body.client_id or settings.client_id
        scopes = list(KNOWN_SCOPES) if body.scopes is None else body.scopes
        if isinstance(scopes, str):
            scopes = scopes.split()
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown:
            raise Problem(400, "invalid_scope", f"unknown scope {unknown[0]!r}", field="scopes")
        lifetime = settings.token_ttl_s if body.lifetime_s is None else body.lifetime_s
        token, life = issuer.issue(client_id, scopes, lifetime_s=lifetime)
        metrics.tokens_issued.labels(via="admin").inc()
        return token_response(token, life, scopes, mutations)

    async def set_callback(request: Request) -> Response:
        auth.require_admin(request)
        client_id = known_client(request.path_params["client_id"])
        body = parse(CallbackRequest, await _json(request), reason="invalid_request")
        url = body.url
        base_url = None if body.base_url is None else body.base_url.rstrip("/")
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
        Route("/admin/evidence/query", query_evidence, methods=["POST"]),
        Route("/admin/tokens", mint_token, methods=["POST"]),
        Route("/admin/clients/{client_id}/callback", set_callback, methods=["PUT"]),
        Route("/admin/clients/{client_id}/attestation", client_attestation, methods=["GET"]),
        Route("/admin/reset", reset, methods=["POST"]),
    ]
