"""MC's OpenAPI 3.1 document, generated from the typed models and checked against the routes.

Every operation the app serves is declared here once, by resource (tokens, keys, packs,
evidence, GraphQL, admin, ops), with its request model, its answers per status (models,
problem documents, headers) and its security; `document(routes)` refuses to build if a route is
missing or extra (seam/openapi.py `check_routes`), so the document cannot fall behind the code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute

from conductor import SERVICE, __version__
from conductor.models import (
    CURSOR,
    DIGEST_QUERY_SCHEMA,
    LEDGER_PAGE_MAX,
    PACK_NAME_SCHEMA,
    AdminEvidence,
    CallbackConfigured,
    CallbackRequest,
    ClientAttestation,
    DsseEnvelope,
    EvidenceQuery,
    EvidenceQueryAnswer,
    EvidenceRecord,
    EvidenceStored,
    GraphQLRequest,
    GraphQLResponse,
    KeySet,
    McHealth,
    McReady,
    MintRequest,
    ResetDone,
    RevisionPublished,
    RevisionRequest,
    TokenRequest,
    TokenResponse,
)
from seam import openapi
from seam.models.evidence import Evidence
from seam.openapi import IDEMPOTENCY_KEY, Op, Param, Resp, link, path_param, problem

FORM = "application/x-www-form-urlencoded"
_PACK = path_param("pack", PACK_NAME_SCHEMA)
_INM = Param("If-None-Match", "header", description="an ETag from an earlier answer")
_CLIENT = path_param("client_id")
_BODY = (400, 408, 413, 415)  # every JSON body: strict-JSON door, time, size, media type
_PACK_HEADERS = ("ETag", "Cache-Control", "Content-Digest", "X-Pack-Revision")
_OBJECT = {"type": "object"}

TOKENS = [
    Op(
        "POST",
        "/v1/tokens",
        "issue_token",
        "Client credentials → EdDSA JWT (≤ 900 s)",
        request=TokenRequest,
        request_media=(FORM, "application/json"),
        responses={
            200: Resp("a bearer token", TokenResponse, headers=("Cache-Control",)),
            400: problem(400, "invalid_request|invalid_scope|unsupported_grant_type"),
            401: problem(401, "invalid_client", headers=("WWW-Authenticate",)),
        },
        problems=(408, 413),
        tags=("tokens",),
    )
]
KEYS = [
    Op(
        "GET",
        "/v1/keys",
        "key_set",
        "MC public keys",
        responses={200: Resp("key set", KeySet)},
        tags=("keys",),
    ),
    Op(
        "GET",
        "/v1/keys/signing.pem",
        "signing_pem",
        "MC Ed25519 public key (PEM)",
        responses={200: Resp("the key", {"type": "string"}, "application/x-pem-file", ("X-Key-Id",))},
        tags=("keys",),
    ),
]
_PACK_ANSWERS = {
    304: Resp("not modified", headers=("ETag", "Cache-Control", "X-Pack-Revision")),
    404: problem(404, "unknown_pack"),
}
PACKS = [
    Op(
        "GET",
        "/v1/policy/packs/{pack}",
        "get_pack",
        "Policy pack tar.gz (ETag, Content-Digest, 304 on If-None-Match)",
        params=(_PACK, _INM),
        responses={
            200: Resp("the pack", {"type": "string", "format": "binary"}, "application/gzip", _PACK_HEADERS),
            **_PACK_ANSWERS,
        },
        security=("bearer",),
        scopes=("policy:read",),
        tags=("packs",),
    ),
    Op(
        "HEAD",
        "/v1/policy/packs/{pack}",
        "head_pack",
        "Policy pack headers only",
        params=(_PACK, _INM),
        responses={200: Resp("headers of the pack", headers=_PACK_HEADERS), **_PACK_ANSWERS},
        security=("bearer",),
        scopes=("policy:read",),
        tags=("packs",),
    ),
    Op(
        "GET",
        "/v1/policy/packs/{pack}/attestation",
        "get_pack_attestation",
        "DSSE envelope over an in-toto Statement for the pack (or the revision with `digest`)",
        params=(
            _PACK,
            _INM,
            Param("digest", "query", DIGEST_QUERY_SCHEMA, description="64 hex, optionally sha256:-prefixed"),
        ),
        responses={
            200: Resp("DSSE envelope", DsseEnvelope, headers=_PACK_HEADERS),
            304: Resp("not modified", headers=("ETag", "Cache-Control", "X-Pack-Revision")),
            400: problem(400, "invalid_digest"),
            404: problem(404, "unknown_pack|unknown_digest"),
        },
        security=("bearer",),
        scopes=("policy:read",),
        tags=("packs",),
    ),
]
EVIDENCE = [
    Op(
        "POST",
        "/v1/evidence",
        "publish_evidence",
        "Publish evidence (idempotent: the same key and body replay the first answer)",
        request=Evidence,
        params=(
            IDEMPOTENCY_KEY,
            Param("Content-Digest", "header", {"type": "string"}, True, "sha-256=:<base64>: of the body"),
        ),
        responses={
            201: Resp(
                "stored (Idempotent-Replayed: true on a replay)",
                EvidenceStored,
                headers=("Location", "Idempotent-Replayed"),
            ),
            400: problem(
                400, "missing_idempotency_key|missing_content_digest|content_digest_mismatch|malformed_json"
            ),
            409: problem(409, "idempotency_key_in_flight"),
            422: problem(422, "invalid_evidence (field named)|idempotency_key_reused"),
        },
        security=("bearer",),
        scopes=("evidence:write",),
        problems=(*_BODY, 503, 507),
        tags=("evidence",),
        links={201: link("GetEvidenceById", "get_evidence", "evidence_id", "/evidence_id")},
    ),
    Op(
        "GET",
        "/v1/evidence/{evidence_id}",
        "get_evidence",
        "A stored evidence record (only the client's own)",
        params=(path_param("evidence_id"),),
        responses={200: Resp("the record", EvidenceRecord), 404: problem(404, "unknown_evidence")},
        security=("bearer",),
        scopes=("evidence:write",),
        tags=("evidence",),
    ),
]
GRAPHQL = [
    Op(
        "POST",
        "/graphql",
        "graphql",
        "GraphQL: mutation publishEvidence(input, idempotencyKey)",
        request=GraphQLRequest,
        responses={
            200: Resp("GraphQL result (business errors are data)", GraphQLResponse),
            400: problem(400, "a request error: nothing ran (GraphQL errors alongside)"),
        },
        security=("bearer",),
        scopes=("evidence:write",),
        problems=(*_BODY, 503, 507),
        tags=("evidence",),
    )
]
ADMIN = [
    Op(
        "POST",
        "/admin/packs/{pack}/revisions",
        "publish_revision",
        "Publish a pack revision (signing: valid|unsigned|wrong-key|tampered|bad-content-digest)",
        request=RevisionRequest,
        params=(_PACK,),
        responses={
            201: Resp("published", RevisionPublished, headers=("Location",)),
            422: problem(422, "invalid_pack (field named)"),
        },
        security=("admin",),
        problems=(*_BODY, 503, 507),
        tags=("admin",),
    ),
    Op(
        "GET",
        "/admin/evidence",
        "admin_evidence",
        "Evidence received, a page at a time (oldest first), with the whole store's counts",
        params=(
            Param(
                "after", "query", {"type": "string", "pattern": CURSOR}, description="a cursor (default: 0)"
            ),
            Param(
                "limit",
                "query",
                {"type": "integer", "minimum": 1, "maximum": LEDGER_PAGE_MAX},
                description=f"items per page (default and most: {LEDGER_PAGE_MAX})",
            ),
        ),
        responses={
            200: Resp("one page of the ledger", AdminEvidence),
            400: problem(400, "invalid_cursor|invalid_limit (field named)"),
        },
        security=("admin",),
        tags=("admin",),
    ),
    Op(
        "POST",
        "/admin/evidence/query",
        "query_evidence",
        "The records (any client) of these idempotency keys or document digests, by index",
        request=EvidenceQuery,
        responses={
            200: Resp("matching records, oldest first", EvidenceQueryAnswer),
            422: problem(422, "invalid_request (field named)"),
        },
        security=("admin",),
        problems=_BODY,
        tags=("admin",),
    ),
    Op(
        "POST",
        "/admin/tokens",
        "mint_token",
        "Mint a token (lifetime_s ≤ 0 → already expired)",
        request=MintRequest,
        responses={
            200: Resp("token", TokenResponse, headers=("Cache-Control",)),
            400: problem(400, "invalid_scope"),
            422: problem(422, "invalid_request (field named)"),
        },
        security=("admin",),
        problems=_BODY,
        tags=("admin",),
    ),
    Op(
        "PUT",
        "/admin/clients/{client_id}/callback",
        "set_callback",
        "Set a client's receipt callback URL (and optional COS base URL)",
        request=CallbackRequest,
        params=(_CLIENT,),
        responses={
            200: Resp("configured", CallbackConfigured),
            404: problem(404, "unknown_client"),
            422: problem(422, "invalid_request (field named)"),
        },
        security=("admin",),
        problems=(*_BODY, 503, 507),
        tags=("admin",),
    ),
    Op(
        "GET",
        "/admin/clients/{client_id}/attestation",
        "client_attestation",
        "What the client's COS reports at GET /v1/attestation",
        params=(_CLIENT, _INM),
        responses={
            200: Resp("COS reply", ClientAttestation),
            404: problem(404, "unknown_client"),
            409: problem(409, "no_client_url"),
            502: problem(502, "client_unreachable"),
        },
        security=("admin",),
        tags=("admin",),
    ),
    Op(
        "POST",
        "/admin/reset",
        "reset",
        "Forget evidence and receipts; packs back to the seed revision",
        responses={200: Resp("reset", ResetDone)},
        security=("admin",),
        tags=("admin",),
    ),
]
OPS = [
    Op("GET", "/healthz", "healthz", "Liveness", responses={200: Resp("ok", McHealth)}, tags=("ops",)),
    Op(
        "GET",
        "/readyz",
        "readyz",
        "Readiness: storage writable and the seed pack loaded",
        responses={200: Resp("ready", McReady), 503: problem(503, "not_ready")},
        tags=("ops",),
    ),
    Op(
        "GET",
        "/metrics",
        "metrics",
        "Prometheus text",
        responses={200: Resp("metrics", {"type": "string"}, "text/plain")},
        tags=("ops",),
    ),
    Op(
        "GET",
        "/openapi.json",
        "openapi",
        "This document",
        responses={200: Resp("OpenAPI 3.1", {"type": "object", "required": ["openapi", "info", "paths"]})},
        tags=("ops",),
    ),
]
OPERATIONS = [*TOKENS, *KEYS, *PACKS, *EVIDENCE, *GRAPHQL, *OPS]  # the public listener
ADMIN_OPERATIONS = [*ADMIN, *(op for op in OPS if op.path in ("/healthz", "/openapi.json"))]  # the admin one
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT (EdDSA)",
        "description": "a token from POST /v1/tokens",
    },
    "admin": {"type": "http", "scheme": "bearer", "description": "the admin token"},
}


def _document(
    title: str, description: str, operations: list[Op], scheme: str, routes: Iterable[BaseRoute] | None
) -> dict[str, Any]:
    """One listener's OpenAPI 3.1 document; with `routes`, first check that they match the operations."""
    if routes is not None:
        openapi.check_routes(routes, operations)
    return openapi.document(
        title=title,
        version=__version__,
        description=description,
        operations=operations,
        security_schemes={scheme: SECURITY_SCHEMES[scheme]},
    )


def document(routes: Iterable[BaseRoute] | None = None) -> dict[str, Any]:
    """MC's public OpenAPI 3.1 document (what COS uses)."""
    description = f"{SERVICE}: tokens, signed policy packs, evidence and receipts (docs/seam.md)."
    return _document("Maestro Conductor", description, OPERATIONS, "bearer", routes)


def admin_document(routes: Iterable[BaseRoute] | None = None) -> dict[str, Any]:
    """The admin listener's own OpenAPI 3.1 document (the public one does not list /admin)."""
    description = f"{SERVICE}: the operator's API, on its own listener (docs/conductor.md)."
    return _document("Maestro Conductor admin API", description, ADMIN_OPERATIONS, "admin", routes)
