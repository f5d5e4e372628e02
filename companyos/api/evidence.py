"""`/v1/evidence`: accept evidence into the durable outbox (idempotent), list it, read one entry."""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from companyos import mutations
from companyos.api.context import canonical_digest, json_response, services
from companyos.api.models import OUTBOX_STATES, EvidenceAccepted, OutboxEntry, OutboxPage
from seam import digest, evidence, idempotency
from seam.models.evidence import Evidence
from seam.openapi import IDEMPOTENCY_KEY, Op, Param, Resp, link, path_param, problem
from seam.problem import Problem, parse_json_object, read_body, require_json

_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")
MAX_PAGE = 10_000
_MAX_OFFSET = 2**62  # SQLite integers are 64-bit; anything near that is no real page


async def submit_evidence(request: Request) -> Response:
    """Accept evidence into the durable outbox (202); published to MC in integrated mode."""
    cos = services(request)
    cos.auth.require(request)
    outbox = cos.require_outbox()
    require_json(request)
    key = request.headers.get("idempotency-key")
    if key is None or not key.strip():
        raise Problem(400, "missing_idempotency_key", "Idempotency-Key header is required")
    if not _KEY_RE.fullmatch(key):
        raise Problem(
            400, "invalid_idempotency_key", "Idempotency-Key must be 1-255 visible ASCII characters"
        )
    body = await read_body(request, evidence.MAX_BODY_BYTES)
    header = request.headers.get("content-digest")
    if header is not None:
        try:
            digest.verify_content_digest(header, body)
        except digest.DigestError as exc:
            raise Problem(400, "content_digest_mismatch", str(exc)) from None
    doc = evidence.validate(parse_json_object(body))
    body_digest = canonical_digest(doc)
    status = 201 if cos.mutations.active(mutations.EVIDENCE_201) else 202
    # No commit and no await before the write: the key is claimed in memory (atomically on the
    # event loop) and a completed key is read from the ledger (companyos/outbox.py).
    outcome = outbox.begin(key, body_digest)
    if isinstance(outcome, idempotency.Mismatch):
        raise Problem(422, "idempotency_key_reused", "this Idempotency-Key was used with a different body")
    if isinstance(outcome, idempotency.InFlight):
        raise Problem(409, "idempotency_key_in_flight", "a request with this Idempotency-Key is in progress")
    if isinstance(outcome, idempotency.Replay):
        return json_response(
            outcome.body,
            status=outcome.status,
            headers={
                "Idempotent-Replayed": "true",
                "Location": f"/v1/evidence/{outcome.body.get('evidence_id')}",
            },
        )
    try:
        await cos.test_latency()
    except BaseException:
        outbox.abandon(key)
        raise
    # The one group commit of this accept (row + completed ledger record); it releases the claim.
    if cos.mutations.active(mutations.OUTBOX_ACK_BEFORE_DURABLE):
        response = outbox.accept_later(key, body, body_digest, status)
    else:
        response = await outbox.accept_async(key, body, body_digest, status)
    cos.metrics.evidence_accepted.inc()
    if cos.publisher is not None:
        cos.publisher.notify()
    return json_response(
        response, status=status, headers={"Location": f"/v1/evidence/{response['evidence_id']}"}
    )


def _paging(request: Request, name: str, default: int) -> int:
    """A non-negative integer query parameter (ASCII digits only), else a 400 naming it."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > _MAX_OFFSET:
        raise Problem(
            400, "invalid_request", f"{name} must be an integer from 0 to {_MAX_OFFSET}", field=name
        )
    return int(raw)


async def list_evidence(request: Request) -> Response:
    """Outbox entries with their state (pending/published/acknowledged) and MC evidence id."""
    cos = services(request)
    cos.auth.require(request)
    outbox = cos.require_outbox()
    state = request.query_params.get("state")
    if state is not None and state not in OUTBOX_STATES:
        raise Problem(
            400, "invalid_request", "state must be pending, published or acknowledged", field="state"
        )
    limit = min(_paging(request, "limit", 1000), MAX_PAGE)
    offset = _paging(request, "offset", 0)
    entries = await run_in_threadpool(outbox.entries, state, limit, offset)
    counts = await run_in_threadpool(outbox.counts)
    return json_response(
        {"items": [e.describe() for e in entries], "total": sum(counts.values()), "counts": counts}
    )


async def get_evidence(request: Request) -> Response:
    """One outbox entry (by COS evidence id or idempotency key), with its document."""
    cos = services(request)
    cos.auth.require(request)
    entry = await run_in_threadpool(cos.require_outbox().get, request.path_params["evidence_id"])
    if entry is None:
        raise Problem(404, "unknown_evidence", "no such evidence in the outbox")
    return json_response(entry.describe(with_document=True))


ROUTES = [
    Route("/v1/evidence", submit_evidence, methods=["POST"], name="submit_evidence"),
    Route("/v1/evidence", list_evidence, methods=["GET"], name="list_evidence"),
    Route("/v1/evidence/{evidence_id}", get_evidence, methods=["GET"], name="get_evidence"),
]
_PAGING = {"type": "integer", "minimum": 0, "maximum": _MAX_OFFSET}
OPERATIONS = [
    Op(
        "POST",
        "/v1/evidence",
        "submit_evidence",
        "Accept evidence into the durable outbox (202); published to MC in integrated mode",
        request=Evidence,
        params=(
            IDEMPOTENCY_KEY,
            Param(
                "Content-Digest",
                "header",
                {"type": "string"},
                False,
                "sha-256 of the body; checked when sent",
            ),
        ),
        responses={
            202: Resp(
                "accepted into the outbox (Idempotent-Replayed: true on a replay)",
                EvidenceAccepted,
                headers=("Location", "Idempotent-Replayed"),
            ),
            400: problem(400, "missing/invalid_idempotency_key, content_digest_mismatch, malformed_json, …"),
            409: problem(409, "idempotency_key_in_flight"),
            422: problem(422, "invalid_evidence (field named), idempotency_key_reused"),
        },
        security=("bearer",),
        problems=(408, 413, 415, 503, 507),
        tags=("evidence",),
        links={202: link("GetEvidenceById", "get_evidence", "evidence_id", "/evidence_id")},
    ),
    Op(
        "GET",
        "/v1/evidence",
        "list_evidence",
        "Outbox entries with their state (pending/published/acknowledged) and MC evidence id",
        params=(
            Param("state", "query", {"type": "string", "enum": list(OUTBOX_STATES)}),
            Param("limit", "query", _PAGING, description=f"at most {MAX_PAGE} are returned"),
            Param("offset", "query", _PAGING),
        ),
        responses={200: Resp("a page of the outbox", OutboxPage), 400: problem(400, "invalid_request")},
        security=("bearer",),
        problems=(503,),
        tags=("evidence",),
    ),
    Op(
        "GET",
        "/v1/evidence/{evidence_id}",
        "get_evidence",
        "One outbox entry (by COS evidence id or idempotency key), with its document",
        params=(path_param("evidence_id", description="COS evidence id or the idempotency key"),),
        responses={
            200: Resp("the entry and its document", OutboxEntry),
            404: problem(404, "unknown_evidence"),
        },
        security=("bearer",),
        problems=(503,),
        tags=("evidence",),
    ),
]
