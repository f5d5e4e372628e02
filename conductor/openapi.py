"""The OpenAPI 3.1 document for MC, written by hand from docs/seam.md.

Why by hand: the contract is the seam page, and a generated document would
only echo docstrings. A test checks that every route the app serves is listed
here, so this page cannot silently fall behind the code.
"""

from __future__ import annotations

from typing import Any

from conductor import SERVICE, __version__

PROBLEM = {"$ref": "#/components/responses/Problem"}


def _op(
    summary: str,
    responses: dict[str, str],
    *,
    security: str | None = "bearer",
    scope: str | None = None,
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    tag: str = "seam",
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": {}}
    for status, description in responses.items():
        if int(status) >= 400:
            op["responses"][status] = {**PROBLEM, "description": description}
        else:
            op["responses"][status] = {"description": description}
    if security == "bearer":
        op["security"] = [{"bearer": [scope] if scope else []}]
        op["responses"].setdefault("401", PROBLEM)
        if scope:
            op["responses"].setdefault("403", PROBLEM)
    elif security == "admin":
        op["security"] = [{"admin": []}]
        op["responses"].setdefault("401", PROBLEM)
    else:
        op["security"] = []
    if body is not None:
        op["requestBody"] = {"required": True, "content": body}
    if params:
        op["parameters"] = params
    return op


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _header(name: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "schema": {"type": "string"}}


JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}

EVIDENCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["release", "kind", "subject", "produced_at"],
    "additionalProperties": False,
    "properties": {
        "release": {"type": "string", "minLength": 1, "maxLength": 128},
        "kind": {"enum": ["test-report", "sbom", "approval", "scan", "build"]},
        "subject": {
            "type": "object",
            "required": ["name", "digest"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "digest": {
                    "type": "object",
                    "required": ["sha256"],
                    "properties": {"sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
                },
            },
        },
        "produced_at": {"type": "string", "format": "date-time"},
        "payload": {"type": "object"},
    },
}


def document() -> dict[str, Any]:
    pack = [_path_param("pack")]
    inm = _header("If-None-Match")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Maestro Conductor",
            "version": __version__,
            "description": f"{SERVICE}: tokens, signed policy packs, evidence and receipts (docs/seam.md).",
        },
        "paths": {
            "/v1/tokens": {
                "post": _op(
                    "Client credentials → EdDSA JWT (≤ 900 s)",
                    {
                        "200": "token",
                        "400": "invalid_request|invalid_scope|unsupported_grant_type",
                        "401": "invalid_client",
                    },
                    security=None,
                    body={
                        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                        "application/json": {"schema": {"type": "object"}},
                    },
                )
            },
            "/v1/policy/packs/{pack}": {
                "get": _op(
                    "Policy pack tar.gz (ETag, Content-Digest, 304 on If-None-Match)",
                    {"200": "application/gzip", "304": "not modified", "404": "unknown_pack"},
                    scope="policy:read",
                    params=[*pack, inm],
                ),
                "head": _op(
                    "Policy pack headers only",
                    {"200": "headers", "304": "not modified", "404": "unknown_pack"},
                    scope="policy:read",
                    params=[*pack, inm],
                ),
            },
            "/v1/policy/packs/{pack}/attestation": {
                "get": _op(
                    "DSSE envelope over an in-toto Statement for the pack",
                    {
                        "200": "DSSE envelope",
                        "304": "not modified",
                        "400": "invalid_digest",
                        "404": "unknown_pack|unknown_digest",
                    },
                    scope="policy:read",
                    params=[
                        *pack,
                        inm,
                        {"name": "digest", "in": "query", "required": False, "schema": {"type": "string"}},
                    ],
                )
            },
            "/v1/keys": {"get": _op("MC public keys", {"200": "key set"}, security=None)},
            "/v1/keys/signing.pem": {
                "get": _op("MC Ed25519 public key (PEM)", {"200": "application/x-pem-file"}, security=None)
            },
            "/v1/evidence": {
                "post": _op(
                    "Publish evidence (idempotent)",
                    {
                        "201": "stored (Idempotent-Replayed: true on a replay)",
                        "400": "missing_idempotency_key|missing_content_digest|"
                        "content_digest_mismatch|malformed_json",
                        "409": "idempotency_key_in_flight",
                        "413": "body_too_large",
                        "422": "invalid_evidence|idempotency_key_reused",
                    },
                    scope="evidence:write",
                    params=[_header("Idempotency-Key", True), _header("Content-Digest", True)],
                    body={"application/json": {"schema": EVIDENCE_SCHEMA}},
                )
            },
            "/v1/evidence/{evidence_id}": {
                "get": _op(
                    "A stored evidence record",
                    {"200": "record", "404": "unknown_evidence"},
                    scope="evidence:write",
                    params=[_path_param("evidence_id")],
                )
            },
            "/graphql": {
                "post": _op(
                    "GraphQL: mutation publishEvidence(input, idempotencyKey)",
                    {"200": "GraphQL result", "400": "GraphQL errors", "413": "body_too_large"},
                    scope="evidence:write",
                    body=JSON_OBJECT,
                )
            },
            "/admin/packs/{pack}/revisions": {
                "post": _op(
                    "Publish a pack revision (signing: valid|unsigned|wrong-key|tampered|bad-content-digest)",
                    {"201": "published", "422": "invalid_pack"},
                    security="admin",
                    params=pack,
                    body=JSON_OBJECT,
                    tag="admin",
                )
            },
            "/admin/evidence": {
                "get": _op(
                    "Evidence received, with counts per idempotency key",
                    {"200": "ledger"},
                    security="admin",
                    tag="admin",
                )
            },
            "/admin/tokens": {
                "post": _op(
                    "Mint a token (lifetime_s ≤ 0 → already expired)",
                    {"200": "token", "400": "invalid_scope", "422": "invalid_request"},
                    security="admin",
                    body=JSON_OBJECT,
                    tag="admin",
                )
            },
            "/admin/clients/{client_id}/callback": {
                "put": _op(
                    "Set a client's receipt callback URL (and optional COS base URL)",
                    {"200": "configured", "404": "unknown_client", "422": "invalid_request"},
                    security="admin",
                    params=[_path_param("client_id")],
                    body=JSON_OBJECT,
                    tag="admin",
                )
            },
            "/admin/clients/{client_id}/attestation": {
                "get": _op(
                    "What the client's COS reports at GET /v1/attestation",
                    {
                        "200": "COS reply",
                        "404": "unknown_client",
                        "409": "no_client_url",
                        "502": "client_unreachable",
                    },
                    security="admin",
                    params=[_path_param("client_id"), inm],
                    tag="admin",
                )
            },
            "/admin/reset": {
                "post": _op(
                    "Forget evidence and receipts; packs back to the seed revision",
                    {"200": "reset"},
                    security="admin",
                    tag="admin",
                )
            },
            "/healthz": {"get": _op("Liveness", {"200": "ok"}, security=None, tag="ops")},
            "/readyz": {
                "get": _op("Readiness", {"200": "ready", "503": "not ready"}, security=None, tag="ops")
            },
            "/metrics": {"get": _op("Prometheus text", {"200": "metrics"}, security=None, tag="ops")},
            "/openapi.json": {"get": _op("This document", {"200": "OpenAPI 3.1"}, security=None, tag="ops")},
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"},
                "admin": {"type": "http", "scheme": "bearer", "description": "the admin token"},
            },
            "responses": {
                "Problem": {
                    "description": "RFC 9457 problem document with a machine-readable reason",
                    "content": {
                        "application/problem+json": {
                            "schema": {
                                "type": "object",
                                "required": ["type", "title", "status", "detail", "reason"],
                                "properties": {
                                    "type": {"type": "string"},
                                    "title": {"type": "string"},
                                    "status": {"type": "integer"},
                                    "detail": {"type": "string"},
                                    "reason": {"type": "string"},
                                    "field": {"type": "string"},
                                },
                            }
                        }
                    },
                }
            },
        },
    }
